package io.jmesh.runtime.config;

/**
 * Rewrites a request's authority and path before it is sent, as Gateway API's {@code
 * HTTPURLRewriteFilter} (Envoy's {@code host_rewrite_literal}, {@code prefix_rewrite} and {@code
 * regex_rewrite}). The query is kept.
 *
 * @param hostname the authority's host to send instead of the one the application used, or
 *     {@code null} to keep it (the port is kept)
 * @param pathType how {@code path} applies, or {@code null} to keep the path
 * @param path the new path ({@link PathType#FULL}), or what replaces the matched prefix ({@link
 *     PathType#PREFIX}); starts with {@code /}
 */
public record UrlRewrite(String hostname, PathType pathType, String path) {
  /** Rewrites nothing. */
  public static final UrlRewrite NONE = new UrlRewrite(null, null, null);

  /** How the path is rewritten. */
  public enum PathType {
    /** The whole path is replaced (Gateway API's {@code ReplaceFullPath}). */
    FULL,
    /** The prefix the route matched is replaced (Gateway API's {@code ReplacePrefixMatch}). */
    PREFIX
  }

  public UrlRewrite {
    if ((pathType == null) != (path == null)) {
      throw new IllegalArgumentException(
          "rewrite path: type " + pathType + " with path " + path + " (expected: both or neither)");
    }
    if (path != null && !path.startsWith("/")) {
      throw new IllegalArgumentException("rewrite path: " + path + " (expected: a path starting with /)");
    }
    if (path != null && (path.indexOf('?') >= 0 || path.indexOf('#') >= 0)) {
      throw new IllegalArgumentException("rewrite path: " + path + " (expected: a path without query or fragment)");
    }
    if (hostname != null && !MeshSyntax.DNS_SUBDOMAIN.matcher(hostname).matches()) {
      throw new IllegalArgumentException("rewrite hostname: " + hostname + " (expected: a DNS host name)");
    }
  }

  public boolean isNone() {
    return hostname == null && pathType == null;
  }

  /**
   * The path to send instead of {@code requestPath} (without query), given the prefix the route
   * matched ({@code matchedPrefix}, used by {@link PathType#PREFIX}). Element-wise, as the Gateway
   * API says: prefix {@code /api} replaced by {@code /v2} turns {@code /api/users} into {@code
   * /v2/users}; replaced by {@code /}, into {@code /users}.
   */
  public String rewritePath(String requestPath, String matchedPrefix) {
    if (pathType == null) {
      return requestPath;
    }
    if (pathType == PathType.FULL) {
      return path;
    }
    String prefix = matchedPrefix.endsWith("/") ? matchedPrefix.substring(0, matchedPrefix.length() - 1) : matchedPrefix;
    String rest = requestPath.length() >= prefix.length() ? requestPath.substring(prefix.length()) : "";
    String replacement = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    String out = replacement + rest;
    return out.isEmpty() ? "/" : out;
  }
}
