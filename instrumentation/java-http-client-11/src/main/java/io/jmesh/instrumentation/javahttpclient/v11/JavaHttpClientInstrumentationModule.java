package io.jmesh.instrumentation.javahttpclient.v11;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isPrivate;
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
 * {@code java.net.http.HttpClient}: every {@code send} and {@code sendAsync} ends in the private
 * {@code HttpClientImpl.sendAsync(request, handler, pushHandler, executor)}; the exchange then
 * asks {@code HttpRequestImpl.getAddress()} where to connect. The request keeps its logical URI,
 * so Host and {@code :authority} stay what the application wrote; only the socket moves.
 */
public final class JavaHttpClientInstrumentationModule implements InstrumentationModule {
  static final String NAME = "java-http-client-11";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String supportedVersions() {
    return "java.net.http of JDK 11 and later (tested on 17 and 25)";
  }

  @Override
  public void install(AgentContext context) {
    MeshBridge.install(new JavaHttpClientHook(context));
  }

  @Override
  public List<String> targetTypeNames() {
    // Constants, so that premain builds no ByteBuddy matcher (typeInstrumentations does).
    return List.of("jdk.internal.net.http.HttpClientImpl", "jdk.internal.net.http.HttpRequestImpl");
  }

  @Override
  public List<TypeInstrumentation> typeInstrumentations() {
    return List.of(
        TypeInstrumentation.of(
            "jdk.internal.net.http.HttpClientImpl",
            new AdviceBinding(
                named("sendAsync")
                    .and(isPrivate())
                    .and(takesArguments(4))
                    .and(takesArgument(0, named("java.net.http.HttpRequest"))),
                SendAsyncAdvice.class)),
        TypeInstrumentation.of(
            "jdk.internal.net.http.HttpRequestImpl",
            new AdviceBinding(
                isConstructor()
                    .and(takesArguments(2))
                    .and(takesArgument(0, named("java.net.http.HttpRequest")))
                    .and(takesArgument(1, named("java.net.ProxySelector"))),
                RequestCopyAdvice.class),
            new AdviceBinding(named("getAddress").and(takesArguments(0)), GetAddressAdvice.class)));
  }
}
