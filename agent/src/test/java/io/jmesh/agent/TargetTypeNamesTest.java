package io.jmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.agent.tooling.InstrumentationModule;
import io.jmesh.agent.tooling.TypeInstrumentation;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

/**
 * The start gate reads each module's {@code targetTypeNames} in premain (constants, no ByteBuddy
 * matchers); a type the module weaves but does not name there would never reach the weaver.
 */
class TargetTypeNamesTest {
  @Test
  void everyPackagedModuleNamesExactlyTheTypesItWeaves() {
    List<String> seen = new ArrayList<>();
    for (InstrumentationModule module : ServiceLoader.load(InstrumentationModule.class)) {
      List<String> woven = new ArrayList<>();
      for (TypeInstrumentation type : module.typeInstrumentations()) {
        woven.add(type.typeName());
      }

      assertThat(module.targetTypeNames()).as(module.name()).containsExactlyInAnyOrderElementsOf(woven);
      seen.add(module.name());
    }

    assertThat(seen).contains("java-http-client-11", "http-url-connection-1.0", "okhttp-3.0", "grpc-1.60");
  }
}
