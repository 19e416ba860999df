package io.jmesh.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.HeaderModifier;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.PathMatch;
import io.jmesh.runtime.config.QueryParamMatch;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteFilters;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import io.jmesh.runtime.config.UrlRewrite;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The router's query parameter matches, and the filters a routed call hands its adapter. */
class RouteFiltersTest {

  private static MeshRuntime runtime(Route... routes) {
    Service hello = new Service("hello", "default", List.of(80),
        List.of(ServiceEndpoint.of("10.0.0.1", 8080)), List.of(routes));
    return MeshRuntime.of(new MeshSnapshot("t", List.of(hello)), MeshRuntime.Options.defaults());
  }

  private static OutboundCall call(MeshRuntime runtime, String pathAndQuery) {
    return runtime.route(Requests.get("hello", 80, pathAndQuery));
  }

  private static Route queryRoute(String name, QueryParamMatch... params) {
    return new Route(name, List.of(new RouteMatch(PathMatch.ANY, List.of(), null, List.of(params))), List.of(Backend.all()));
  }

  @Test
  void queryParamExactMatchesTheFirstDecodedValue() {
    MeshRuntime runtime = runtime(queryRoute("v2", QueryParamMatch.exact("version", "v 2")));

    assertThat(call(runtime, "/x?version=v%202").routeName()).isEqualTo("v2");
    assertThat(call(runtime, "/x?a=1&version=v+2").routeName()).isEqualTo("v2");
    // Only the first value counts; names are case-sensitive; absence never matches.
    assertThat(call(runtime, "/x?version=v1&version=v%202").routeName()).isEqualTo("default");
    assertThat(call(runtime, "/x?Version=v%202").routeName()).isEqualTo("default");
    assertThat(call(runtime, "/x").routeName()).isEqualTo("default");
    assertThat(call(runtime, "/x?versionx=v%202").routeName()).isEqualTo("default");
  }

  @Test
  void queryParamRegexAndEmptyValues() {
    MeshRuntime runtime = runtime(
        queryRoute("debug", QueryParamMatch.exact("debug", "")),
        queryRoute("users", QueryParamMatch.regex("user", "test-[0-9]+")));

    assertThat(call(runtime, "/?debug").routeName()).isEqualTo("debug");
    assertThat(call(runtime, "/?user=test-42").routeName()).isEqualTo("users");
    assertThat(call(runtime, "/?user=test-42x").routeName()).isEqualTo("default");
    // A malformed escape matches nothing, and routing goes on.
    assertThat(call(runtime, "/?user=%zz").routeName()).isEqualTo("default");
  }

  @Test
  void everyQueryConditionMustHold() {
    MeshRuntime runtime = runtime(
        queryRoute("both", QueryParamMatch.exact("a", "1"), QueryParamMatch.exact("b", "2")));

    assertThat(call(runtime, "/?b=2&a=1").routeName()).isEqualTo("both");
    assertThat(call(runtime, "/?a=1").routeName()).isEqualTo("default");
  }

  private static Route rewriteRoute(PathMatch path, UrlRewrite rewrite) {
    HeaderModifier set = new HeaderModifier(List.of(new HeaderModifier.Header("x-env", "prod")), List.of(), List.of());
    return new Route(
        "r",
        List.of(new RouteMatch(path, List.of(), null)),
        List.of(Backend.all()),
        RoutePolicy.DEFAULT,
        new RouteFilters(set, HeaderModifier.NONE, rewrite));
  }

  @Test
  void prefixRewriteReplacesTheMatchedPrefixElementWise() {
    MeshRuntime runtime = runtime(rewriteRoute(PathMatch.prefix("/api/"), new UrlRewrite(null, UrlRewrite.PathType.PREFIX, "/v2")));

    assertThat(call(runtime, "/api/users?x=1").rewrittenPath()).isEqualTo("/v2/users");
    assertThat(call(runtime, "/api").rewrittenPath()).isEqualTo("/v2");
    assertThat(call(runtime, "/other").rewrittenPath()).isNull(); // the default route
    OutboundCall toRoot = call(runtime(rewriteRoute(PathMatch.prefix("/api"), new UrlRewrite(null, UrlRewrite.PathType.PREFIX, "/"))), "/api/users");
    assertThat(toRoot.rewrittenPath()).isEqualTo("/users");
  }

  @Test
  void fullRewriteAndHostRewriteKeepThePort() {
    OutboundCall call = call(
        runtime(rewriteRoute(PathMatch.prefix("/"), new UrlRewrite("hello.internal", UrlRewrite.PathType.FULL, "/ping"))),
        "/anything/at/all");

    assertThat(call.rewrittenPath()).isEqualTo("/ping");
    assertThat(call.authority()).isEqualTo("hello.internal"); // port 80 is http's default
    assertThat(call.filters().requestHeaders().set()).containsExactly(new HeaderModifier.Header("x-env", "prod"));

    Service other = new Service("hello", "default", List.of(8080),
        List.of(ServiceEndpoint.of("10.0.0.1", 8080)),
        List.of(rewriteRoute(PathMatch.prefix("/"), new UrlRewrite("hello.internal", null, null))));
    MeshRuntime onPort = MeshRuntime.of(new MeshSnapshot("t", List.of(other)), MeshRuntime.Options.defaults());
    OutboundCall hostOnly = onPort.route(Requests.request("GET", "hello", 8080, "/a", Map.of()));
    assertThat(hostOnly.authority()).isEqualTo("hello.internal:8080");
    assertThat(hostOnly.rewrittenPath()).isNull();
  }
}
