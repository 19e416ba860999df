package io.jmesh.runtime.config;

import java.util.regex.Pattern;

/**
 * The lexical rules the two sources of the mesh model share, so that the file-mode YAML ({@link
 * MeshConfigParser}) and xDS ({@code io.jmesh.runtime.xds.XdsDecoder}) accept the same names,
 * tokens, methods and retry conditions. Public only because the decoder lives in another package;
 * not an API for adapters. Immutable.
 */
public final class MeshSyntax {
  /** A Kubernetes namespace (and the shape of a service's name): an RFC 1123 DNS label. */
  public static final String DNS_LABEL_REGEX = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";

  public static final Pattern DNS_LABEL = Pattern.compile(DNS_LABEL_REGEX);

  /** A Kubernetes service account name: an RFC 1123 DNS subdomain. */
  public static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  /** An RFC 9110 token: header names, authorization rule names. */
  public static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

  /**
   * An HTTP method in an authorization rule: an RFC 9110 token without lower case. Methods are
   * case-sensitive and every standard one is upper case, so a lower-case {@code get} in a policy
   * is a mistake that would never match.
   */
  public static final Pattern METHOD = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Z-]+");

  /** How a SPIFFE id is written, for error messages. */
  public static final String SPIFFE_FORM = "spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>";

  /** Retry conditions in Envoy's spelling ({@code retry_on}), which the YAML uses too. */
  public static final String RETRY_CONNECT_FAILURE = "connect-failure";

  public static final String RETRY_RESET = "reset";

  private MeshSyntax() {}
}
