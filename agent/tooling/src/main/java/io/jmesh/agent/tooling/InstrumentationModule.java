package io.jmesh.agent.tooling;

import java.util.ArrayList;
import java.util.List;

/**
 * One client library's instrumentation, found with {@link java.util.ServiceLoader} in the agent
 * class loader. Implementations are stateless descriptions; the installer applies them.
 */
public interface InstrumentationModule {
  /** The folder name, for example {@code okhttp-3.0}; also the key of its enable switch. */
  String name();

  /** The library versions this module supports, for the log line when it is skipped. */
  String supportedVersions();

  /**
   * The binary names of the types this module weaves: the start gate's targets, read in {@code
   * premain}. Override with constants: the default builds {@link #typeInstrumentations()}, whose
   * method matchers load about 140 ByteBuddy classes on the application's main thread. Must name
   * every {@link TypeInstrumentation#typeName()} of this module (the weaver warns of one missing:
   * it would never be woven).
   */
  default List<String> targetTypeNames() {
    List<String> names = new ArrayList<>();
    for (TypeInstrumentation type : typeInstrumentations()) {
      names.add(type.typeName());
    }
    return names;
  }

  /**
   * The types to weave. Called on the agent's start thread, off the application's: build
   * descriptions only, do no work.
   */
  List<TypeInstrumentation> typeInstrumentations();

  /**
   * Classes (binary names, in the agent jar) to define in the class loader of every instrumented
   * type, because they implement one of the library's interfaces. They may use the library and
   * the bridge only.
   */
  default List<String> helperClassNames() {
    return List.of();
  }

  /** Installs this module's bridge hooks; called once, before any type is woven. */
  default void install(AgentContext context) {}
}
