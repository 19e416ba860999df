package io.jmesh.runtime.inbound;

import io.jmesh.runtime.identity.SpiffeId;
import java.util.List;
import java.util.Objects;

/**
 * Who may call this workload. Rules are tried in order; the first whose callers and request
 * match decides (allow or deny); when none matches, the default applies. The default default is
 * Linkerd's {@code all-authenticated}: any caller with a mesh identity is allowed, plaintext is
 * not. In {@link Mode#AUDIT} a denial is logged and counted but the request goes through (for
 * rolling out a policy). Immutable.
 */
public final class AuthorizationPolicy {
  /** Enforce the decision, or only report what would have been denied. */
  public enum Mode {
    ENFORCE,
    AUDIT
  }

  /** What happens to a request that no rule matched. */
  public enum Default {
    /** Any caller with a mesh identity; no plaintext caller. */
    ALL_AUTHENTICATED,
    /** Every caller, plaintext ones included (permissive migration). */
    ALL,
    /** No caller. */
    DENY
  }

  /**
   * One rule. A caller matches when one of {@code identities}, {@code namespaces} or {@code
   * serviceAccounts} names it (an empty list names no one through that field); {@code pathPrefix}
   * and {@code methods} narrow it to requests (null / empty: every request).
   */
  public record Rule(
      String name,
      boolean allow,
      List<SpiffeId> identities,
      List<String> namespaces,
      List<String> serviceAccounts,
      String pathPrefix,
      List<String> methods) {
    public Rule {
      Objects.requireNonNull(name, "name");
      identities = identities == null ? List.of() : List.copyOf(identities);
      namespaces = namespaces == null ? List.of() : List.copyOf(namespaces);
      serviceAccounts = serviceAccounts == null ? List.of() : List.copyOf(serviceAccounts);
      methods = methods == null ? List.of() : List.copyOf(methods);
    }

    boolean matches(SpiffeId caller, String method, String path) {
      if (caller == null) {
        return false;
      }
      boolean who =
          identities.contains(caller)
              || namespaces.contains(caller.namespace())
              || serviceAccounts.contains(caller.serviceAccount());
      return who
          && (pathPrefix == null || path.startsWith(pathPrefix))
          && (methods.isEmpty() || methods.contains(method));
    }
  }

  /** The outcome for one request; {@code policy} names what decided it. */
  public record Decision(boolean allowed, boolean audited, String policy) {}

  private final String name;
  private final Mode mode;
  private final Default fallback;
  private final List<Rule> rules;

  public AuthorizationPolicy(String name, Mode mode, Default fallback, List<Rule> rules) {
    this.name = Objects.requireNonNull(name, "name");
    this.mode = Objects.requireNonNull(mode, "mode");
    this.fallback = Objects.requireNonNull(fallback, "default");
    this.rules = List.copyOf(rules);
  }

  /** Linkerd's default: every authenticated caller, enforced. */
  public static AuthorizationPolicy allAuthenticated() {
    return allAuthenticated("default");
  }

  /**
   * The default policy under {@code name}, so that a denial names the service it protects (for
   * example {@code hello.default/default:all-authenticated}).
   */
  public static AuthorizationPolicy allAuthenticated(String name) {
    return new AuthorizationPolicy(name, Mode.ENFORCE, Default.ALL_AUTHENTICATED, List.of());
  }

  public String name() {
    return name;
  }

  public Mode mode() {
    return mode;
  }

  /** What applies when no rule matches ({@code default} is a Java keyword). */
  public Default fallback() {
    return fallback;
  }

  /** The rules, in the order they are tried. */
  public List<Rule> rules() {
    return rules;
  }

  /** Whether it decides exactly as {@link #allAuthenticated()} does: no rules, default, enforced. */
  public boolean isDefault() {
    return mode == Mode.ENFORCE && fallback == Default.ALL_AUTHENTICATED && rules.isEmpty();
  }

  /**
   * @param caller the identity the caller proved, or null for a plaintext caller
   */
  public Decision decide(SpiffeId caller, String method, String path) {
    for (Rule r : rules) {
      if (r.matches(caller, method, path)) {
        return outcome(r.allow(), name + "/" + r.name());
      }
    }
    boolean allowed =
        switch (fallback) {
          case ALL -> true;
          case ALL_AUTHENTICATED -> caller != null;
          case DENY -> false;
        };
    return outcome(allowed, name + "/default:" + fallback.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
  }

  private Decision outcome(boolean allowed, String policy) {
    if (!allowed && mode == Mode.AUDIT) {
      return new Decision(true, true, policy);
    }
    return new Decision(allowed, false, policy);
  }

  // Value semantics, so that snapshots carrying policies compare equal when nothing changed.
  @Override
  public boolean equals(Object o) {
    return o instanceof AuthorizationPolicy p
        && p.name.equals(name)
        && p.mode == mode
        && p.fallback == fallback
        && p.rules.equals(rules);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, mode, fallback, rules);
  }

  @Override
  public String toString() {
    return "AuthorizationPolicy[" + name + ", " + mode + ", default " + fallback + ", rules " + rules + "]";
  }
}
