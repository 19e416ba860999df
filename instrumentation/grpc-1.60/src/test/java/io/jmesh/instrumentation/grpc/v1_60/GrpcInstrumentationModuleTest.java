package io.jmesh.instrumentation.grpc.v1_60;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class GrpcInstrumentationModuleTest {
  @Test
  void namesEveryHelperClassItCompilesTo() throws Exception {
    // A helper class missing from the list (a nested or synthetic class) would fail only in the
    // packaged agent, where the helpers are injected by name.
    Path classes = Path.of(GrpcInstrumentationModule.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    List<String> compiled;
    try (Stream<Path> files = Files.walk(classes)) {
      compiled =
          files
              .filter(f -> f.toString().endsWith(".class"))
              .map(f -> classes.relativize(f).toString().replace('/', '.').replaceAll("\\.class$", ""))
              .filter(n -> !n.startsWith(GrpcInstrumentationModule.class.getName()))
              .filter(n -> !n.equals(ChannelBuildAdvice.class.getName()))
              .collect(Collectors.toList());
    }

    assertThat(new GrpcInstrumentationModule().helperClassNames()).containsExactlyInAnyOrderElementsOf(compiled);
  }

  @Test
  void parsesTheTargetsThatCanNameAMeshDestination() {
    assertThat(GrpcMeshChannels.Target.parse("hello:8080")).satisfies(t -> assertThat(t.host + " " + t.port + " " + t.scheme).isEqualTo("hello 8080 null"));
    assertThat(GrpcMeshChannels.Target.parse("dns:///hello.default:50051").host).isEqualTo("hello.default");
    assertThat(GrpcMeshChannels.Target.parse("dns://8.8.8.8/hello:50051").port).isEqualTo(50051);
    assertThat(GrpcMeshChannels.Target.parse("hello")).isNull();
    assertThat(GrpcMeshChannels.Target.parse("unix:///tmp/sock")).isNull();
    assertThat(GrpcMeshChannels.Target.parse("xds:///hello:8080")).isNull();
    assertThat(GrpcMeshChannels.Target.parse("[::1]:8080")).isNull();
  }
}
