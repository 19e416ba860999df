package io.jmesh.runtime.config;

import java.util.Objects;

/**
 * What a route changes on its requests and responses, as Gateway API's filters: header edits on
 * the request each attempt sends, header edits on the response the application gets, and a URL
 * rewrite.
 *
 * @param requestHeaders edits of every attempt's request headers
 * @param responseHeaders edits of the headers of the response the application sees
 * @param rewrite the authority and path each attempt sends
 */
public record RouteFilters(HeaderModifier requestHeaders, HeaderModifier responseHeaders, UrlRewrite rewrite) {
  /** Changes nothing. */
  public static final RouteFilters NONE = new RouteFilters(HeaderModifier.NONE, HeaderModifier.NONE, UrlRewrite.NONE);

  public RouteFilters {
    Objects.requireNonNull(requestHeaders, "requestHeaders");
    Objects.requireNonNull(responseHeaders, "responseHeaders");
    Objects.requireNonNull(rewrite, "rewrite");
  }

  public boolean isNone() {
    return requestHeaders.isNone() && responseHeaders.isNone() && rewrite.isNone();
  }
}
