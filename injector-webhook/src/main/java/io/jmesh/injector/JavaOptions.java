package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import java.util.ArrayList;
import java.util.List;

/**
 * Adds {@code -javaagent:...} to a container's Java options without losing the user's.
 *
 * <p>Which variable ({@link #choose}): {@code JAVA_TOOL_OPTIONS} when the container's {@code env}
 * defines it (then it is extended) or when nothing else could define it. When the container has
 * {@code envFrom}, a ConfigMap or Secret the injector cannot read may define {@code
 * JAVA_TOOL_OPTIONS}: setting it in {@code env} would replace that value, and referencing {@code
 * $(JAVA_TOOL_OPTIONS)} would leave the text {@code $(JAVA_TOOL_OPTIONS)} in place when it does not
 * (Kubernetes keeps an unresolved reference as written, and the JVM then refuses to start). So
 * such a container gets {@code JDK_JAVA_OPTIONS}, which the {@code java} launcher (JDK 9+) adds to
 * its command line next to {@code JAVA_TOOL_OPTIONS}. The pod annotation {@code
 * jmesh.io/java-options-variable} overrides the choice.
 *
 * <p>How ({@link #apply}): a literal value is extended; a value from {@code valueFrom} moves to
 * {@code JMESH_USER_<VARIABLE>} with the same source, defined just before, and the variable
 * becomes {@code $(JMESH_USER_<VARIABLE>) -javaagent:...}, which Kubernetes expands because the
 * reference is defined earlier in the list; an absent variable is added.
 */
final class JavaOptions {
  static final String JAVA_TOOL_OPTIONS = "JAVA_TOOL_OPTIONS";
  static final String JDK_JAVA_OPTIONS = "JDK_JAVA_OPTIONS";

  private JavaOptions() {}

  /** The variable for this container; {@code override} is the pod annotation, or null. */
  static String choose(Container c, String override) {
    if (override != null) {
      return override;
    }
    if (indexOf(c.getEnv(), JAVA_TOOL_OPTIONS) >= 0) {
      return JAVA_TOOL_OPTIONS;
    }
    boolean envFrom = c.getEnvFrom() != null && !c.getEnvFrom().isEmpty();
    return envFrom ? JDK_JAVA_OPTIONS : JAVA_TOOL_OPTIONS;
  }

  /** Checks the annotation's value: null (absent) or one of the two variables. */
  static String parseOverride(String value, String podRef) {
    if (value == null || value.equals(JAVA_TOOL_OPTIONS) || value.equals(JDK_JAVA_OPTIONS)) {
      return value;
    }
    throw new InjectionRefused(
        Outcome.Denial.BAD_ANNOTATION,
        "pod "
            + podRef
            + ": "
            + Annotations.JAVA_OPTIONS_VARIABLE
            + ": \""
            + value
            + "\" (expected: JAVA_TOOL_OPTIONS or JDK_JAVA_OPTIONS)");
  }

  /** Adds {@code agentOption} to {@code variable} in the container's env, once. */
  static void apply(Container c, String variable, String agentOption) {
    List<EnvVar> env = c.getEnv() == null ? new ArrayList<>() : new ArrayList<>(c.getEnv());
    // Kubernetes lets the last of several entries of one name win: extend that one.
    int i = indexOf(env, variable);
    if (i < 0) {
      env.add(new EnvVar(variable, agentOption, null));
    } else if (env.get(i).getValueFrom() != null) {
      String userVariable = "JMESH_USER_" + variable;
      EnvVar original = env.get(i);
      env.set(i, new EnvVar(variable, "$(" + userVariable + ") " + agentOption, null));
      env.add(i, new EnvVar(userVariable, null, original.getValueFrom()));
    } else {
      String value = env.get(i).getValue();
      if (value == null || value.isBlank()) {
        env.set(i, new EnvVar(variable, agentOption, null));
      } else if (!containsOption(value, agentOption)) {
        env.set(i, new EnvVar(variable, value + " " + agentOption, null));
      }
    }
    c.setEnv(env);
  }

  private static boolean containsOption(String value, String option) {
    for (String part : value.trim().split("\\s+")) {
      if (part.equals(option)) {
        return true;
      }
    }
    return false;
  }

  static int indexOf(List<EnvVar> env, String name) {
    if (env == null) {
      return -1;
    }
    for (int i = env.size() - 1; i >= 0; i--) {
      if (name.equals(env.get(i).getName())) {
        return i;
      }
    }
    return -1;
  }
}
