package io.jmesh.agent.tooling;

import java.util.List;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.matcher.ElementMatcher;

/** The advice to weave into one type. */
public interface TypeInstrumentation {
  /** Matches the type to weave. Keep it a name match: it runs for every loaded class. */
  ElementMatcher<TypeDescription> typeMatcher();

  /**
   * The advice to apply. Every binding's method matcher must match a method of the type, or the
   * whole module is skipped for that type with one log line: the library version differs from
   * what the advice was written for.
   */
  List<AdviceBinding> adviceBindings();

  /** A type instrumentation from its parts. */
  static TypeInstrumentation of(ElementMatcher<TypeDescription> type, AdviceBinding... bindings) {
    List<AdviceBinding> list = List.of(bindings);
    return new TypeInstrumentation() {
      @Override
      public ElementMatcher<TypeDescription> typeMatcher() {
        return type;
      }

      @Override
      public List<AdviceBinding> adviceBindings() {
        return list;
      }

      @Override
      public String toString() {
        return type.toString();
      }
    };
  }

  /** One advice class applied to the methods that {@code methods} matches. */
  record AdviceBinding(ElementMatcher<? super MethodDescription> methods, Class<?> advice) {}
}
