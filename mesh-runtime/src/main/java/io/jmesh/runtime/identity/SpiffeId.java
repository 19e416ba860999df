package io.jmesh.runtime.identity;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A workload's mesh identity, {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}
 * (the form Istio and Linkerd use). It is what a leaf certificate's URI subject alternative name
 * carries and what authorization policies name. Immutable; equal when all three parts are equal.
 */
public final class SpiffeId {
  private static final String SCHEME = "spiffe://";
  // SPIFFE: the trust domain is lower case letters, digits, '.', '-', '_'; path segments also
  // allow upper case. Kubernetes names are a subset of both.
  private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]{1,255}");
  private static final Pattern SEGMENT = Pattern.compile("[a-zA-Z0-9._-]{1,253}");

  private final String trustDomain;
  private final String namespace;
  private final String serviceAccount;
  private final String uri; // built once: the inbound path sends it with every request

  private SpiffeId(String trustDomain, String namespace, String serviceAccount) {
    this.trustDomain = trustDomain;
    this.namespace = namespace;
    this.serviceAccount = serviceAccount;
    this.uri = SCHEME + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
  }

  /**
   * @throws IllegalArgumentException naming the part, its value and what was expected
   */
  public static SpiffeId of(String trustDomain, String namespace, String serviceAccount) {
    check("trust domain", trustDomain, TRUST_DOMAIN, "lower case letters, digits, '.', '-', '_'");
    check("namespace", namespace, SEGMENT, "letters, digits, '.', '-', '_'");
    check("service account", serviceAccount, SEGMENT, "letters, digits, '.', '-', '_'");
    if (namespace.equals(".") || namespace.equals("..")) {
      throw new IllegalArgumentException("namespace: \"" + namespace + "\" (expected: a name, not a dot segment)");
    }
    if (serviceAccount.equals(".") || serviceAccount.equals("..")) {
      throw new IllegalArgumentException(
          "service account: \"" + serviceAccount + "\" (expected: a name, not a dot segment)");
    }
    return new SpiffeId(trustDomain, namespace, serviceAccount);
  }

  /**
   * Parses {@code spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>}.
   *
   * @throws IllegalArgumentException naming the value and the expected form
   */
  public static SpiffeId parse(String uri) {
    Objects.requireNonNull(uri, "uri");
    String expected = "(expected: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)";
    if (!uri.startsWith(SCHEME)) {
      throw new IllegalArgumentException("SPIFFE id: \"" + uri + "\" " + expected);
    }
    String[] parts = uri.substring(SCHEME.length()).split("/", -1);
    if (parts.length != 5 || !parts[1].equals("ns") || !parts[3].equals("sa")) {
      throw new IllegalArgumentException("SPIFFE id: \"" + uri + "\" " + expected);
    }
    try {
      return of(parts[0], parts[2], parts[4]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("SPIFFE id: \"" + uri + "\": " + e.getMessage(), e);
    }
  }

  public String trustDomain() {
    return trustDomain;
  }

  public String namespace() {
    return namespace;
  }

  public String serviceAccount() {
    return serviceAccount;
  }

  /** The URI form, as in a certificate's subject alternative name. */
  @Override
  public String toString() {
    return uri;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SpiffeId
        && ((SpiffeId) o).trustDomain.equals(trustDomain)
        && ((SpiffeId) o).namespace.equals(namespace)
        && ((SpiffeId) o).serviceAccount.equals(serviceAccount);
  }

  @Override
  public int hashCode() {
    return Objects.hash(trustDomain, namespace, serviceAccount);
  }

  private static void check(String what, String value, Pattern pattern, String expected) {
    if (value == null || !pattern.matcher(value).matches()) {
      throw new IllegalArgumentException(what + ": " + (value == null ? "null" : "\"" + value + "\"") + " (expected: 1 or more of " + expected + ")");
    }
  }
}
