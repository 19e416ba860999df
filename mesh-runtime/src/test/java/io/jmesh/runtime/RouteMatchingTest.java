package io.jmesh.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.HeaderMatch;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.PathMatch;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RouteMatchingTest {

  private static Route route(String name, RouteMatch... matches) {
    return new Route(name, List.of(matches), List.of(Backend.all()));
  }

  private static RouteMatch path(PathMatch path) {
    return new RouteMatch(path, List.of(), null);
  }

  private static MeshRuntime runtime(Route... routes) {
    Service hello = new Service("hello", "default", List.of(80),
        List.of(ServiceEndpoint.of("10.0.0.1", 8080)), List.of(routes));
    return MeshRuntime.of(new MeshSnapshot("t", List.of(hello)), MeshRuntime.Options.defaults());
  }

  private static String routeOf(MeshRuntime runtime, String method, String path, Map<String, String> headers) {
    return runtime.route(Requests.request(method, "hello", 80, path, headers)).routeName();
  }

  private static String routeOf(MeshRuntime runtime, String path) {
    return routeOf(runtime, "GET", path, Map.of());
  }

  @Test
  void exactPath() {
    MeshRuntime runtime = runtime(route("exact", path(PathMatch.exact("/health"))));

    assertThat(routeOf(runtime, "/health")).isEqualTo("exact");
    assertThat(routeOf(runtime, "/health/")).isEqualTo("default");
    assertThat(routeOf(runtime, "/healthz")).isEqualTo("default");
    assertThat(routeOf(runtime, "/")).isEqualTo("default");
  }

  @Test
  void prefixPathMatchesWholeSegments() {
    MeshRuntime runtime = runtime(
        route("api", path(PathMatch.prefix("/api"))),
        route("v2", path(PathMatch.prefix("/v2/"))));

    assertThat(routeOf(runtime, "/api")).isEqualTo("api");
    assertThat(routeOf(runtime, "/api/users")).isEqualTo("api");
    assertThat(routeOf(runtime, "/apis")).isEqualTo("default");
    assertThat(routeOf(runtime, "/v2")).isEqualTo("v2");
    assertThat(routeOf(runtime, "/v2/x")).isEqualTo("v2");
    assertThat(routeOf(runtime, "/other")).isEqualTo("default");
  }

  @Test
  void rootPrefixMatchesEverything() {
    MeshRuntime runtime = runtime(route("all", path(PathMatch.prefix("/"))));

    assertThat(routeOf(runtime, "/")).isEqualTo("all");
    assertThat(routeOf(runtime, "/anything/at/all")).isEqualTo("all");
  }

  @Test
  void regexPathMustMatchTheWholePath() {
    MeshRuntime runtime = runtime(route("versioned", path(PathMatch.regex("/v[0-9]+/.*"))));

    assertThat(routeOf(runtime, "/v1/users")).isEqualTo("versioned");
    assertThat(routeOf(runtime, "/v10/")).isEqualTo("versioned");
    assertThat(routeOf(runtime, "/api/v1/users")).isEqualTo("default");
    assertThat(routeOf(runtime, "/vx/users")).isEqualTo("default");
  }

  @Test
  void headerExactAndRegex() {
    MeshRuntime runtime = runtime(
        route("canary", new RouteMatch(PathMatch.ANY, List.of(HeaderMatch.exact("x-canary", "always")), null)),
        route("testers", new RouteMatch(PathMatch.ANY, List.of(HeaderMatch.regex("X-User", "test-[0-9]+")), null)));

    assertThat(routeOf(runtime, "GET", "/", Map.of("X-Canary", "always"))).isEqualTo("canary");
    // Values are case-sensitive; names are not.
    assertThat(routeOf(runtime, "GET", "/", Map.of("x-canary", "Always"))).isEqualTo("default");
    assertThat(routeOf(runtime, "GET", "/", Map.of("x-user", "test-42"))).isEqualTo("testers");
    assertThat(routeOf(runtime, "GET", "/", Map.of("x-user", "test-42x"))).isEqualTo("default");
    assertThat(routeOf(runtime, "GET", "/", Map.of())).isEqualTo("default");
  }

  @Test
  void allConditionsOfOneMatchMustHold_anyMatchOfARouteSuffices() {
    RouteMatch getApiAsTester = new RouteMatch(
        PathMatch.prefix("/api"), List.of(HeaderMatch.exact("x-user", "tester")), "GET");
    RouteMatch deleteAnything = new RouteMatch(PathMatch.ANY, List.of(), "DELETE");
    MeshRuntime runtime = runtime(route("r", getApiAsTester, deleteAnything));

    assertThat(routeOf(runtime, "GET", "/api/x", Map.of("x-user", "tester"))).isEqualTo("r");
    assertThat(routeOf(runtime, "POST", "/api/x", Map.of("x-user", "tester"))).isEqualTo("default");
    assertThat(routeOf(runtime, "GET", "/other", Map.of("x-user", "tester"))).isEqualTo("default");
    assertThat(routeOf(runtime, "GET", "/api/x", Map.of())).isEqualTo("default");
    assertThat(routeOf(runtime, "DELETE", "/anything", Map.of())).isEqualTo("r");
    // Adapters hand in upper-case methods; OutboundRequest.of normalizes.
    assertThat(routeOf(runtime, "delete", "/anything", Map.of())).isEqualTo("r");
  }

  @Test
  void firstMatchInOrderWins() {
    MeshRuntime runtime = runtime(
        route("specific", path(PathMatch.prefix("/api/admin"))),
        route("broad", path(PathMatch.prefix("/api"))),
        route("never", path(PathMatch.prefix("/api/admin/users"))));

    assertThat(routeOf(runtime, "/api/admin/users")).isEqualTo("specific");
    assertThat(routeOf(runtime, "/api/users")).isEqualTo("broad");
  }

  @Test
  void withoutRoutesEverythingTakesTheDefaultRoute() {
    MeshRuntime runtime = runtime();

    OutboundCall call = runtime.route(Requests.get("hello", 80, "/x"));
    assertThat(call.routeName()).isEqualTo("default");
    assertThat(call.nextEndpoint()).isEqualTo(ServiceEndpoint.of("10.0.0.1", 8080));
  }
}
