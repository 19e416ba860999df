package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.instrument.Instrumentation;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.List;
import java.util.concurrent.Callable;
import net.bytebuddy.agent.ByteBuddyAgent;
import org.junit.jupiter.api.Test;

class HelperInjectorTest {
  private static final String HELPER = HelperInjectorTest.class.getName() + "$Helper";
  private static final String NESTED = HelperInjectorTest.class.getName() + "$Helper$Nested";

  /** Stands for a helper that implements a library interface (here a JDK one). */
  public static final class Helper implements Callable<String> {
    @Override
    public String call() {
      return new Nested().toString();
    }

    static final class Nested {
      @Override
      public String toString() {
        return "nested";
      }
    }
  }

  @Test
  void definesTheHelpersInTheTargetLoaderOnce() throws Exception {
    Instrumentation inst = ByteBuddyAgent.install();
    HelperInjector injector =
        new HelperInjector("test-module", List.of(HELPER, NESTED), HelperInjectorTest.class.getClassLoader(), inst);
    try (URLClassLoader target = new URLClassLoader(new URL[0], null)) {
      injector.injectInto(target);
      injector.injectInto(target); // once per loader: no duplicate definition

      Class<?> helper = Class.forName(HELPER, true, target);
      assertThat(helper.getClassLoader()).isSameAs(target);
      @SuppressWarnings("unchecked")
      Callable<String> call = (Callable<String>) helper.getConstructor().newInstance();
      assertThat(call.call()).isEqualTo("nested");
    }
  }

  @Test
  void skipsAHelperTheLoaderAlreadyHas() throws Exception {
    Instrumentation inst = ByteBuddyAgent.install();
    ClassLoader agent = HelperInjectorTest.class.getClassLoader();
    try (URLClassLoader target = new URLClassLoader(new URL[0], null)) {
      // A first attempt that defined one helper, then failed on a missing one.
      HelperInjector partial = new HelperInjector("test-module", List.of(NESTED, "no.such.Helper"), agent, inst);
      assertThatThrownBy(() -> partial.injectInto(target)).hasMessageContaining("no.such.Helper");

      new HelperInjector("test-module", List.of(HELPER, NESTED), agent, inst).injectInto(target);

      assertThat(Class.forName(NESTED, false, target).getClassLoader()).isSameAs(target);
    }
  }
}
