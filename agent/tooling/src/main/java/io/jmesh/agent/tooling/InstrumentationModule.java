package io.jmesh.agent.tooling;

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
   * The types to weave. Called in {@code premain}: build descriptions only, do no work.
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
