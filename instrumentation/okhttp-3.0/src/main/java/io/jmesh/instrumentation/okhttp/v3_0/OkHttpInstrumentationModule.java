package io.jmesh.instrumentation.okhttp.v3_0;

import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.takesArgument;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import io.jmesh.agent.tooling.InstrumentationModule;
import io.jmesh.agent.tooling.TypeInstrumentation;
import io.jmesh.agent.tooling.TypeInstrumentation.AdviceBinding;
import java.util.List;

/**
 * OkHttp 3.x, 4.x and 5.x: every {@code OkHttpClient} is built from a {@code Builder}; the
 * constructor appends {@link MeshInterceptor} as the last application interceptor, so the
 * application's own interceptors see the logical URL and the network sees the endpoint.
 */
public final class OkHttpInstrumentationModule implements InstrumentationModule {
  static final String NAME = "okhttp-3.0";
  private static final String PACKAGE = "io.jmesh.instrumentation.okhttp.v3_0";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String supportedVersions() {
    return "OkHttp 3.0 to 5.x (tested: 3.14, 4.12, 5.5)";
  }

  @Override
  public List<String> helperClassNames() {
    // By name: loading them here, where OkHttp is absent, would fail.
    return List.of(
        PACKAGE + ".MeshInterceptor",
        PACKAGE + ".MeshInterceptor$Attempts",
        PACKAGE + ".OkHttpHelper",
        PACKAGE + ".OkHttpMeshTls",
        PACKAGE + ".OkHttpMeshTls$PeerCheckedByContext",
        PACKAGE + ".OkHttpMeshTls$EndpointPort",
        PACKAGE + ".OkHttpMeshTls$EndpointSocket");
  }

  @Override
  public List<String> targetTypeNames() {
    // Constants, so that premain builds no ByteBuddy matcher (typeInstrumentations does).
    return List.of("okhttp3.OkHttpClient");
  }

  @Override
  public List<TypeInstrumentation> typeInstrumentations() {
    return List.of(
        TypeInstrumentation.of(
            "okhttp3.OkHttpClient",
            new AdviceBinding(
                isConstructor()
                    .and(takesArguments(1))
                    .and(takesArgument(0, named("okhttp3.OkHttpClient$Builder"))),
                ClientConstructorAdvice.class)));
  }
}
