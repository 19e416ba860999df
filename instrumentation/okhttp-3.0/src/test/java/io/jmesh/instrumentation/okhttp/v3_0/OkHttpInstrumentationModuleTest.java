package io.jmesh.instrumentation.okhttp.v3_0;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OkHttpInstrumentationModuleTest {
  @Test
  void listsEveryNestedClassOfItsHelpers() throws Exception {
    // The agent injects exactly the listed classes into the application's class loader; a nested
    // class left out fails there with NoClassDefFoundError on the first meshed call (the in-JVM
    // suite cannot see it: there the classes are on the class path anyway).
    List<String> helpers = new OkHttpInstrumentationModule().helperClassNames();
    List<String> nested = new ArrayList<>();
    for (String helper : helpers) {
      for (Class<?> c : Class.forName(helper).getDeclaredClasses()) {
        nested.add(c.getName());
      }
    }

    assertThat(helpers).containsAll(nested);
  }
}
