package io.jmesh.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The file-mode YAML of query parameter matches, header edits and URL rewrites. */
class RouteFiltersConfigTest {
  private static final String FILE = "/etc/jmesh/mesh.yaml";

  private static Route onlyRoute(String routesYaml) throws MeshConfigException {
    return MeshConfigParser.parse(FILE, service(routesYaml), "default").services().get(0).routes().get(0);
  }

  private static String service(String routesYaml) {
    return "services:\n  - name: hello\n    ports: [8080]\n    routes:\n" + routesYaml.stripIndent().indent(6);
  }

  private static String failure(String routesYaml) {
    try {
      MeshConfigParser.parse(FILE, service(routesYaml), "default");
    } catch (MeshConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("expected an error for:\n" + routesYaml);
  }

  @Test
  void queryParamMatchesExactAndRegex() throws Exception {
    Route route = onlyRoute("""
        - name: v2
          matches:
            - queryParams:
                - {name: version, value: v2}
                - {name: user, regex: "test-.*"}
          backends: [{}]
        """);

    assertThat(route.matches().get(0).queryParams())
        .containsExactly(QueryParamMatch.exact("version", "v2"), QueryParamMatch.regex("user", "test-.*"));
  }

  @Test
  void requestHeaderEditsAndRewrite() throws Exception {
    Route route = onlyRoute("""
        - name: api
          matches: [{path: {prefix: /api}}]
          requestHeaders:
            set: {x-env: prod}
            add: {x-tag: a}
            remove: [x-debug]
          rewrite:
            hostname: hello.internal
            path: {replacePrefix: /v2}
          backends: [{}]
        """);

    assertThat(route.filters().requestHeaders())
        .isEqualTo(new HeaderModifier(
            List.of(new HeaderModifier.Header("x-env", "prod")),
            List.of(new HeaderModifier.Header("x-tag", "a")),
            List.of("x-debug")));
    assertThat(route.filters().rewrite())
        .isEqualTo(new UrlRewrite("hello.internal", UrlRewrite.PathType.PREFIX, "/v2"));
  }

  @Test
  void responseHeaderEdits() throws Exception {
    Route route = onlyRoute("""
        - responseHeaders:
            set: {cache-control: no-store}
            add: {x-served-by: mesh}
            remove: [server]
          backends: [{}]
        """);

    assertThat(route.filters().responseHeaders())
        .isEqualTo(new HeaderModifier(
            List.of(new HeaderModifier.Header("cache-control", "no-store")),
            List.of(new HeaderModifier.Header("x-served-by", "mesh")),
            List.of("server")));
    assertThat(route.filters().requestHeaders()).isEqualTo(HeaderModifier.NONE);
  }

  @Test
  void responseHeaderEditsAreCheckedAsRequestHeaderEditsAre() {
    // One validation for both sides: framing headers and the mesh's own stay the clients'.
    assertThat(failure("""
        - responseHeaders: {remove: [Content-Length]}
          backends: [{}]
        """)).startsWith(FILE + ":5: services[0].routes[0].responseHeaders.remove[0]: header 'Content-Length'"
        + " is not editable by a route (expected: a header other than the mesh's x-jmesh-*");
    assertThat(failure("""
        - responseHeaders: {set: {x-jmesh-refused: "no"}}
          backends: [{}]
        """)).startsWith(FILE + ":5: services[0].routes[0].responseHeaders.set: header 'x-jmesh-refused'"
        + " is not editable by a route");
    assertThat(failure("""
        - responseHeaders: {add: {x-a: "1"}, remove: [X-A]}
          backends: [{}]
        """)).isEqualTo(FILE + ":5: services[0].routes[0].responseHeaders.remove[0]: header 'X-A' edited twice"
        + " (expected: each name once across set, add and remove)");
  }

  @Test
  void aHeaderValueOutsideVisibleAsciiIsRefused() throws Exception {
    // Every client would refuse it when the attempt is sent; the push is refused instead.
    assertThat(failure("""
        - requestHeaders: {set: {x-a: "caf\u00e9"}}
          backends: [{}]
        """)).contains("requestHeaders.set.x-a: ")
        .endsWith("(expected: a header value of one line of visible ASCII, space or tab)");
    assertThat(failure("""
        - responseHeaders: {add: {x-b: "a\u00a0b"}}
          backends: [{}]
        """)).contains("responseHeaders.add.x-b: ")
        .endsWith("(expected: a header value of one line of visible ASCII, space or tab)");
    // Built from xDS or Kubernetes, the same rule names the character.
    assertThatThrownBy(() -> new HeaderModifier.Header("x-a", "caf\u00e9"))
        .hasMessage("header x-a: value character 4 is U+00E9 (expected: one line of visible ASCII,"
            + " space or tab)");
    assertThat(onlyRoute("""
        - requestHeaders: {set: {x-c: "tab\there and ~"}}
          backends: [{}]
        """).filters().requestHeaders().set()).hasSize(1);
  }

  @Test
  void aRouteWithoutFiltersHasNone() throws Exception {
    assertThat(onlyRoute("- backends: [{}]\n").filters()).isEqualTo(RouteFilters.NONE);
  }

  @Test
  void errorsNameTheFieldTheValueAndTheExpectation() {
    assertThat(failure("""
        - matches:
            - queryParams: [{name: v}]
          backends: [{}]
        """)).isEqualTo(FILE + ":6: services[0].routes[0].matches[0].queryParams[0]: needs exactly one of"
        + " 'value' or 'regex' (expected: {name, value} or {name, regex})");
    assertThat(failure("""
        - requestHeaders: {set: {"bad name": x}}
          backends: [{}]
        """)).isEqualTo(FILE + ":5: services[0].routes[0].requestHeaders.set: bad name (expected: a header name)");
    assertThat(failure("""
        - requestHeaders: {set: {x-a: "1"}, remove: [X-A]}
          backends: [{}]
        """)).isEqualTo(FILE + ":5: services[0].routes[0].requestHeaders.remove[0]: header 'X-A' edited twice"
        + " (expected: each name once across set, add and remove)");
    assertThat(failure("""
        - requestHeaders: {set: {Host: other}}
          backends: [{}]
        """)).isEqualTo(FILE + ":5: services[0].routes[0].requestHeaders.set: header 'Host' is not editable by a"
        + " route (expected: a header other than the mesh's x-jmesh-*, gRPC's grpc-* and *-bin, and connection,"
        + " content-length, expect,"
        + " host, keep-alive, proxy-connection, te, trailer, transfer-encoding, upgrade; rewrite.hostname"
        + " changes the host)");
    assertThat(failure("""
        - requestHeaders: {remove: [x-jmesh-deadline-ms]}
          backends: [{}]
        """)).startsWith(FILE + ":5: services[0].routes[0].requestHeaders.remove[0]: header 'x-jmesh-deadline-ms'"
        + " is not editable by a route");
    assertThat(failure("""
        - responseHeaders: {append: {x-a: "1"}}
          backends: [{}]
        """)).isEqualTo(FILE + ":5: services[0].routes[0].responseHeaders: unknown field 'append' (expected one of: set, add, remove)");
    assertThat(failure("""
        - rewrite: {path: {replaceFull: v2}}
          backends: [{}]
        """)).isEqualTo(FILE + ":5: services[0].routes[0].rewrite.path.replaceFull: v2 (expected: a path starting with /)");
    assertThat(failure("""
        - rewrite: {path: {replaceFull: /a, replacePrefix: /b}}
          backends: [{}]
        """)).startsWith(FILE + ":5: services[0].routes[0].rewrite.path: ")
        .endsWith("(expected: exactly one of: replaceFull, replacePrefix)");
    assertThat(failure("""
        - rewrite: {hostname: "Not_A_Host"}
          backends: [{}]
        """)).isEqualTo(FILE + ":5: services[0].routes[0].rewrite.hostname: Not_A_Host"
        + " (expected: a DNS host name in lower case, such as hello.default)");
    assertThat(failure("""
        - matches: [{path: {exact: /a}}]
          rewrite: {path: {replacePrefix: /b}}
          backends: [{}]
        """)).isEqualTo(FILE + ":6: services[0].routes[0].rewrite.path.replacePrefix: needs every match to be"
        + " a path prefix, and matches[0] is exact (expected: path: {prefix: ...} in every match, or replaceFull)");
  }
}
