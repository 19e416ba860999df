package io.jmesh.agent.tooling;

import java.util.List;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.matcher.ElementMatcher;
import net.bytebuddy.matcher.ElementMatchers;

/** The advice to weave into one type. */
public interface TypeInstrumentation {
  /**
   * The binary name of the type to weave. The start-up gate waits for the agent to be ready
   * only when a class of one of these names loads; every other class passes at the cost of one
   * hash lookup.
   */
  String typeName();

  /** Matches the type to weave: its name. */
  default ElementMatcher<TypeDescription> typeMatcher() {
    return ElementMatchers.named(typeName());
  }

  /**
   * The advice to apply. Every binding's method matcher must match a method of the type, or the
   * whole module is skipped for that type with one log line: the library version differs from
   * what the advice was written for.
   */
  List<AdviceBinding> adviceBindings();

  /** A type instrumentation from its parts. */
  static TypeInstrumentation of(String typeName, AdviceBinding... bindings) {
    List<AdviceBinding> list = List.of(bindings);
    return new TypeInstrumentation() {
      @Override
      public String typeName() {
        return typeName;
      }

      @Override
      public List<AdviceBinding> adviceBindings() {
        return list;
      }

      @Override
      public String toString() {
        return typeName;
      }
    };
  }

  /** One advice class applied to the methods that {@code methods} matches. */
  record AdviceBinding(ElementMatcher<? super MethodDescription> methods, Class<?> advice) {}
}
