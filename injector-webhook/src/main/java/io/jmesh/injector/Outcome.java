package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.Pod;
import java.util.List;
import java.util.Objects;

/**
 * What the injector decided for one pod: injected (with the mutated pod), skipped (the pod is
 * admitted unchanged) or denied (the pod asks for something that cannot be done, and is refused
 * rather than started without the agent).
 *
 * <p>Immutable. {@code pod} is a new object, never the one passed in.
 *
 * @param kind what was decided
 * @param code a stable code for metrics and Events: a {@link Skip} or {@link Denial} code, or
 *     {@code injected}
 * @param message one line naming the pod, the value and what was expected
 * @param pod the mutated pod when injected; otherwise null
 * @param warnings for the API client (kubectl prints them): values the injector left out
 */
public record Outcome(Kind kind, String code, String message, Pod pod, List<String> warnings) {

  /** The three decisions. */
  public enum Kind {
    INJECTED,
    SKIPPED,
    DENIED
  }

  /** Why a pod is admitted unchanged. Codes, as Linkerd reports its skip reasons. */
  public enum Skip {
    /** The pod carries {@code jmesh.io/injected}: it went through the injector already. */
    ALREADY_INJECTED("already_injected"),
    /** {@code jmesh.io/inject: disabled} on the pod. */
    OPTED_OUT("opted_out"),
    /** Neither the pod nor its namespace says {@code jmesh.io/inject: enabled}. */
    NOT_OPTED_IN("not_opted_in"),
    /** {@code hostNetwork: true}: the agent would capture the node's ports. */
    HOST_NETWORK("host_network"),
    /** Every container is a known proxy sidecar: nothing to attach a JVM agent to. */
    NO_JVM_CONTAINER("no_jvm_container");

    private final String code;

    Skip(String code) {
      this.code = code;
    }

    public String code() {
      return code;
    }
  }

  /** Why a pod is refused. */
  public enum Denial {
    /** {@code jmesh.io/inject-containers} names a container the pod does not have. */
    CONTAINER_NOT_FOUND("container_not_found"),
    /** {@code jmesh.io/inject-containers} names a proxy sidecar or a run-to-completion init container. */
    CONTAINER_NOT_INJECTABLE("container_not_injectable"),
    /** A jmesh annotation has a value the injector does not accept. */
    BAD_ANNOTATION("bad_annotation"),
    /** The pod already has a volume, mount or container of a name or path the injector adds. */
    CONFLICT("conflict");

    private final String code;

    Denial(String code) {
      this.code = code;
    }

    public String code() {
      return code;
    }
  }

  public Outcome {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
    warnings = List.copyOf(warnings);
  }

  static Outcome injected(Pod pod, String message, List<String> warnings) {
    return new Outcome(Kind.INJECTED, "injected", message, pod, warnings);
  }

  static Outcome skipped(Skip skip, String message) {
    return new Outcome(Kind.SKIPPED, skip.code(), message, null, List.of());
  }

  static Outcome denied(Denial denial, String message) {
    return new Outcome(Kind.DENIED, denial.code(), message, null, List.of());
  }
}
