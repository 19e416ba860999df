package io.jmesh.instrumentation.httpurlconnection.v1_0;

import static net.bytebuddy.matcher.ElementMatchers.isStatic;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArgument;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import io.jmesh.agent.tooling.AgentContext;
import io.jmesh.agent.tooling.InstrumentationModule;
import io.jmesh.agent.tooling.TypeInstrumentation;
import io.jmesh.agent.tooling.TypeInstrumentation.AdviceBinding;
import io.jmesh.bridge.MeshBridge;
import java.util.List;

/**
 * {@code HttpURLConnection} and {@code HttpsURLConnection}.
 *
 * <p>HTTP: each connection asks {@code sun.net.www.http.HttpClient.New(url, proxy, timeout,
 * useCache, connection)} for a client; giving it the endpoint's URL makes the JDK's keep-alive
 * cache pool per endpoint, while the connection keeps the application's URL for the Host header.
 * The pick is per request.
 *
 * <p>Outcomes (HTTP): the attempt is tied to the connection from {@code New} until the response
 * headers are read ({@code getInputStream0()} returns or throws), or until {@code
 * disconnectInternal()} ends it for a redirect; the deadline header is added in {@code
 * writeRequests()}. The call is driven by the runtime's call driver in steps ({@code
 * BlockingCall.stepwise}); a refused connect runs {@code New} again on its next attempt.
 *
 * <p>HTTPS: the application owns the TLS session and verifies the logical host name, so only the
 * socket moves ({@code NetworkClient.doConnect(host, port)}); the keep-alive cache is keyed by the
 * logical URL, so the pick is per connection.
 */
public final class HttpUrlConnectionInstrumentationModule implements InstrumentationModule {
  static final String NAME = "http-url-connection-1.0";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String supportedVersions() {
    return "sun.net.www HttpURLConnection of JDK 11 and later (tested on 17 and 25)";
  }

  @Override
  public void install(AgentContext context) {
    MeshBridge.install(new UrlConnectionHookImpl(context));
  }

  @Override
  public List<String> targetTypeNames() {
    // Constants, so that premain builds no ByteBuddy matcher (typeInstrumentations does).
    return List.of("sun.net.www.http.HttpClient", "sun.net.NetworkClient", "sun.net.www.protocol.http.HttpURLConnection");
  }

  @Override
  public List<TypeInstrumentation> typeInstrumentations() {
    return List.of(
        TypeInstrumentation.of(
            "sun.net.www.http.HttpClient",
            new AdviceBinding(
                named("New")
                    .and(isStatic())
                    .and(takesArguments(5))
                    .and(takesArgument(0, named("java.net.URL")))
                    .and(takesArgument(1, named("java.net.Proxy")))
                    .and(takesArgument(4, named("sun.net.www.protocol.http.HttpURLConnection"))),
                HttpClientNewAdvice.class)),
        TypeInstrumentation.of(
            "sun.net.NetworkClient",
            new AdviceBinding(
                named("doConnect")
                    .and(takesArguments(2))
                    .and(takesArgument(0, String.class))
                    .and(takesArgument(1, int.class)),
                DoConnectAdvice.class)),
        TypeInstrumentation.of(
            "sun.net.www.protocol.http.HttpURLConnection",
            new AdviceBinding(
                named("getInputStream0").and(takesArguments(0)), GetInputStreamAdvice.class),
            new AdviceBinding(
                named("disconnectInternal").and(takesArguments(0)), DisconnectInternalAdvice.class),
            new AdviceBinding(
                named("writeRequests").and(takesArguments(0)), WriteRequestsAdvice.class)));
  }
}
