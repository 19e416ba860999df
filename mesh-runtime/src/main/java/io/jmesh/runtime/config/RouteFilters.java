package io.jmesh.runtime.config;

import java.util.Objects;

/**
 * What a route changes on its requests and responses, as Gateway API's filters: header edits on
 * the request each attempt sends, header edits on the response the application gets, and a URL
 * rewrite, and a copy of the request sent to another service.
 *
 * @param requestHeaders edits of every attempt's request headers
 * @param responseHeaders edits of the headers of the response the application sees
 * @param rewrite the authority and path each attempt sends
 * @param mirror where a copy of each request goes, or {@code null} for nowhere
 */
public record RouteFilters(
    HeaderModifier requestHeaders, HeaderModifier responseHeaders, UrlRewrite rewrite, RequestMirror mirror) {
  /** Changes nothing. */
  public static final RouteFilters NONE = new RouteFilters(HeaderModifier.NONE, HeaderModifier.NONE, UrlRewrite.NONE);

  /** Filters without a mirror. */
  public RouteFilters(HeaderModifier requestHeaders, HeaderModifier responseHeaders, UrlRewrite rewrite) {
    this(requestHeaders, responseHeaders, rewrite, null);
  }

  public RouteFilters {
    Objects.requireNonNull(requestHeaders, "requestHeaders");
    Objects.requireNonNull(responseHeaders, "responseHeaders");
    Objects.requireNonNull(rewrite, "rewrite");
  }

  /** These filters with {@code mirror} (or none, for {@code null}) as the request mirror. */
  public RouteFilters withMirror(RequestMirror mirror) {
    return new RouteFilters(requestHeaders, responseHeaders, rewrite, mirror);
  }

  /**
   * Whether the agents' HTTP clients apply each kind of filter. The file parser and the xDS
   * decoder refuse a route carrying a kind they do not apply (a push is NACKed and the last good
   * config stays), because a filter parsed and then ignored would change nothing while the
   * operator believes it does. Each kind is switched on here when every client adapter (the HTTP
   * clients and gRPC) applies it and their conformance suites prove it.
   */
  public static final boolean REQUEST_HEADERS_APPLIED = true;

  /** See {@link #REQUEST_HEADERS_APPLIED}: edits of the response headers. */
  public static final boolean RESPONSE_HEADERS_APPLIED = true;

  /** See {@link #REQUEST_HEADERS_APPLIED}: hostname and path rewrites. */
  public static final boolean REWRITE_APPLIED = true;

  /**
   * See {@link #REQUEST_HEADERS_APPLIED}: the request mirror. The runtime sends the copies
   * ({@code OutboundCall#mirror}); the three HTTP clients hand it each request's copy (a body only
   * where they can replay it), and gRPC calls, which hand over none, count theirs as skipped.
   */
  public static final boolean MIRROR_APPLIED = true;

  /** The phrase every refusal of an unapplied filter ends with. */
  public static final String NOT_APPLIED = "not yet applied by the agents' HTTP clients";

  public boolean isNone() {
    return requestHeaders.isNone() && responseHeaders.isNone() && rewrite.isNone() && mirror == null;
  }
}
