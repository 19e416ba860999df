package io.jmesh.injector;

/** The annotation and label keys the injector reads and writes; see the README's table. */
final class Annotations {
  /** On a namespace or a pod, as a label or an annotation: {@code enabled} or {@code disabled}. */
  static final String INJECT = "jmesh.io/inject";

  static final String ENABLED = "enabled";
  static final String DISABLED = "disabled";

  /** On a pod: comma-separated names of the containers to inject, instead of all. */
  static final String INJECT_CONTAINERS = "jmesh.io/inject-containers";

  /** On a pod: {@code JAVA_TOOL_OPTIONS} or {@code JDK_JAVA_OPTIONS}, instead of the automatic choice. */
  static final String JAVA_OPTIONS_VARIABLE = "jmesh.io/java-options-variable";

  /** On a pod: the service name, instead of the {@code app.kubernetes.io/name} or {@code app} label. */
  static final String SERVICE = "jmesh.io/service";

  /** Written: the injector's version. Its presence means "already injected". */
  static final String INJECTED = "jmesh.io/injected";

  /** Written: {@code container=VARIABLE,...}, each injected container and the variable it got. */
  static final String INJECTED_CONTAINERS = "jmesh.io/injected-containers";

  static final String APP_NAME_LABEL = "app.kubernetes.io/name";
  static final String APP_LABEL = "app";

  private Annotations() {}
}
