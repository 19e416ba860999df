package io.jmesh.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MeshConfigParserTest {
  private static final String FILE = "/etc/jmesh/mesh.yaml";

  private static MeshSnapshot parse(String yaml) throws MeshConfigException {
    return MeshConfigParser.parse(FILE, yaml, "default");
  }

  /** Parses {@code yaml}, expects it to fail, and returns the exception. */
  private static MeshConfigException failure(String yaml) {
    try {
      parse(yaml);
    } catch (MeshConfigException e) {
      return e;
    }
    throw new AssertionError("expected an error for:\n" + yaml);
  }

  @Test
  void loadsTheReadmeExampleFully() throws Exception {
    Path file = Paths.get("src/test/resources/mesh-example.yaml");

    MeshSnapshot snapshot = MeshConfigParser.parse(file, "prod");

    assertThat(snapshot.version()).hasSize(12);
    assertThat(snapshot.services()).extracting(Service::qualifiedName)
        .containsExactly("hello.default", "db-proxy.prod");
    Service hello = snapshot.services().get(0);
    assertThat(hello.ports()).containsExactly(8080);
    assertThat(hello.endpoints()).containsExactly(
        new ServiceEndpoint("127.0.0.2", 18081, 1, Map.of("version", "v1")),
        new ServiceEndpoint("127.0.0.3", 18081, 1, Map.of("version", "v1")),
        new ServiceEndpoint("127.0.0.4", 18081, 3, Map.of("version", "v2")));
    assertThat(hello.routes()).containsExactly(
        new Route(
            "canary-by-header",
            List.of(new RouteMatch(PathMatch.ANY, List.of(HeaderMatch.exact("x-canary", "always")), null)),
            List.of(new Backend(Map.of("version", "v2"), 1))),
        new Route(
            "api",
            List.of(
                new RouteMatch(PathMatch.regex("/v[0-9]+/.*"), List.of(), "GET"),
                new RouteMatch(PathMatch.exact("/health"), List.of(), null),
                new RouteMatch(PathMatch.ANY, List.of(HeaderMatch.regex("x-user", "test-.*")), null)),
            List.of(new Backend(Map.of("version", "v1"), 1))),
        new Route(
            "split",
            List.of(new RouteMatch(PathMatch.prefix("/"), List.of(), null)),
            List.of(new Backend(Map.of("version", "v1"), 90), new Backend(Map.of("version", "v2"), 10))));
    Service db = snapshot.services().get(1);
    assertThat(db.namespace()).isEqualTo("prod"); // the default namespace of the parse
    assertThat(db.ports()).containsExactly(5432, 6432);
    assertThat(db.routes()).isEmpty();
  }

  @Test
  void sameContentGivesSameVersion_differentContentAnother() throws Exception {
    String yaml = "services: []\n";
    assertThat(parse(yaml).version()).isEqualTo(parse(yaml).version());
    assertThat(parse(yaml).version()).isNotEqualTo(parse("services: [ ]\n").version());
    assertThat(parse(yaml).services()).isEmpty();
  }

  @Test
  void badSyntaxNamesFileAndLine() {
    MeshConfigException e = failure("""
        services:
          - name: hello
            ports: [8080
          - name: other
        """);

    assertThat(e.source()).isEqualTo(FILE);
    assertThat(e.line()).isEqualTo(4);
    assertThat(e.getMessage()).startsWith(FILE + ":4: invalid YAML: ");
  }

  @Test
  void identitiesMakeAServiceMeshTls() throws Exception {
    MeshSnapshot snapshot = parse("""
        services:
          - name: hello
            ports: [8080]
            identities: [spiffe://cluster.local/ns/default/sa/hello]
          - name: legacy
            ports: [8080]
        """);

    assertThat(snapshot.services().get(0).identities())
        .containsExactly(io.jmesh.runtime.identity.SpiffeId.parse("spiffe://cluster.local/ns/default/sa/hello"));
    assertThat(snapshot.services().get(0).meshTls()).isTrue();
    assertThat(snapshot.services().get(1).meshTls()).isFalse();
  }

  @Test
  void aBadIdentityIsNamedWithItsLine() {
    assertThat(failure("""
        services:
          - name: hello
            ports: [8080]
            identities:
              - spiffe://cluster.local/ns/default/sa/hello
              - spiffe://cluster.local/default/hello
        """).getMessage())
        .isEqualTo(FILE + ":6: services[0].identities[1]: SPIFFE id: \"spiffe://cluster.local/default/hello\""
            + " (expected: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)");
    assertThat(failure("""
        services:
          - name: hello
            ports: [8080]
            identities: []
        """).getMessage())
        .isEqualTo(FILE + ":4: services[0].identities: [] (expected: a non-empty list of SPIFFE ids,"
            + " spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)");
  }

  @Test
  void authorizationIsParsedInOrderWithItsDefaults() throws Exception {
    MeshSnapshot snapshot = parse("""
        services:
          - name: hello
            ports: [8080]
            authorization:
              mode: audit
              default: deny
              rules:
                - name: no-batch-writes
                  action: deny
                  identities: [spiffe://cluster.local/ns/jobs/sa/batch]
                  methods: [POST, DELETE]
                - name: shop-reads
                  action: allow
                  namespaces: [shop]
                  serviceAccounts: [web, web.v2]
                  pathPrefix: /orders
                  methods: [GET]
                - {name: jobs-tcp, action: allow, namespaces: [jobs], methods: [TCP]}
          - name: plain
            ports: [8080]
          - name: defaults
            ports: [8080]
            authorization: {rules: [{name: r, action: allow, serviceAccounts: [web]}]}
        """);

    SpiffeId batch = SpiffeId.parse("spiffe://cluster.local/ns/jobs/sa/batch");
    assertThat(snapshot.services().get(0).authorization())
        .isEqualTo(new AuthorizationPolicy(
            "hello.default",
            AuthorizationPolicy.Mode.AUDIT,
            AuthorizationPolicy.Default.DENY,
            List.of(
                new AuthorizationPolicy.Rule("no-batch-writes", false, List.of(batch), null, null, null, List.of("POST", "DELETE")),
                new AuthorizationPolicy.Rule("shop-reads", true, null, List.of("shop"), List.of("web", "web.v2"), "/orders", List.of("GET")),
                new AuthorizationPolicy.Rule("jobs-tcp", true, null, List.of("jobs"), null, null, List.of("TCP")))));
    // No authorization: every authenticated caller, and denials name the service.
    assertThat(snapshot.services().get(1).authorization())
        .isEqualTo(AuthorizationPolicy.allAuthenticated("plain.default"));
    assertThat(snapshot.services().get(1).authorization().decide(null, "GET", "/").policy())
        .isEqualTo("plain.default/default:all-authenticated");
    AuthorizationPolicy defaults = snapshot.services().get(2).authorization();
    assertThat(defaults.mode()).isEqualTo(AuthorizationPolicy.Mode.ENFORCE);
    assertThat(defaults.fallback()).isEqualTo(AuthorizationPolicy.Default.ALL_AUTHENTICATED);
  }

  @Test
  void badAuthorizationRulesAreNamedPrecisely() {
    String head = """
        services:
          - name: hello
            ports: [8080]
            authorization:
              rules:
        """;
    assertThat(failure(head + """
                - {name: r, action: permit, namespaces: [shop]}
        """).getMessage())
        .isEqualTo(FILE + ":6: services[0].authorization.rules[0].action: permit (expected: allow or deny)");
    assertThat(failure(head + """
                - {name: r, action: allow, pathPrefix: /x}
        """).getMessage())
        .isEqualTo(FILE + ":6: services[0].authorization.rules[0]: names no caller"
            + " (expected: at least one of identities, namespaces, serviceAccounts)");
    assertThat(failure(head + """
                - {name: r, action: allow, namespaces: []}
        """).getMessage())
        .isEqualTo(FILE + ":6: services[0].authorization.rules[0].namespaces: []"
            + " (expected: a non-empty list of namespaces)");
    assertThat(failure(head + """
                - name: r
                  action: allow
                  identities: [spiffe://cluster.local/ns/shop/web]
        """).getMessage())
        .isEqualTo(FILE + ":8: services[0].authorization.rules[0].identities[0]: SPIFFE id:"
            + " \"spiffe://cluster.local/ns/shop/web\""
            + " (expected: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)");
    assertThat(failure(head + """
                - {name: r, action: allow, namespaces: [shop]}
                - {name: r, action: deny, namespaces: [jobs]}
        """).getMessage())
        .isEqualTo(FILE + ":7: services[0].authorization.rules[1].name: r"
            + " (expected: a rule name unique in the policy; already used by rules[0])");
    assertThat(failure(head + """
                - {name: r, action: allow, namespaces: [shop], methods: [get]}
        """).getMessage())
        .isEqualTo(FILE + ":6: services[0].authorization.rules[0].methods[0]: get"
            + " (expected: an upper-case HTTP method such as GET, or TCP for opaque connections)");
    assertThat(failure(head + """
                - {name: r, action: allow, namespaces: [shop], pathPrefix: /x, methods: [TCP]}
        """).getMessage())
        .startsWith(FILE + ":6: services[0].authorization.rules[0].methods[0]: TCP (expected: no TCP together with pathPrefix");
    assertThat(failure(head + """
                - {action: allow, namespaces: [shop]}
        """).getMessage())
        .isEqualTo(FILE + ":6: services[0].authorization.rules[0]: missing field 'name' (expected: a rule name)");
    assertThat(failure(head + """
                - {name: r, action: allow, users: [bob]}
        """).getMessage())
        .isEqualTo(FILE + ":6: services[0].authorization.rules[0]: unknown field 'users' (expected one of:"
            + " name, action, identities, namespaces, serviceAccounts, pathPrefix, methods)");
    assertThat(failure("""
        services:
          - name: hello
            ports: [8080]
            authorization: {mode: dry-run}
        """).getMessage())
        .isEqualTo(FILE + ":4: services[0].authorization.mode: dry-run (expected: enforce or audit)");
    assertThat(failure("""
        services:
          - name: hello
            ports: [8080]
            authorization: {default: none}
        """).getMessage())
        .isEqualTo(FILE + ":4: services[0].authorization.default: none"
            + " (expected: one of all-authenticated, all, deny)");
  }

  @Test
  void emptyFileIsAnError() {
    // A truncated write must not remove every service.
    assertThat(failure("").getMessage())
        .isEqualTo(FILE + ":1: empty document (expected: a mapping with the field 'services')");
  }

  @Test
  void unknownKeyNamesTheFieldAndTheAllowedOnes() {
    MeshConfigException e = failure("""
        services:
          - name: hello
            ports: [8080]
            endpoints:
              - {address: 10.0.0.1, port: 80}
              - address: 10.0.0.2
                port: 80
                weigth: 2
        """);

    assertThat(e.getMessage()).isEqualTo(FILE + ":8: services[0].endpoints[1]: unknown field 'weigth'"
        + " (expected one of: address, port, weight, labels, priority)");
  }

  @Test
  void unknownTopLevelKey() {
    assertThat(failure("services: []\nroutes: []\n").getMessage())
        .isEqualTo(FILE + ":2: (root): unknown field 'routes' (expected one of: services)");
  }

  @Test
  void badEndpointWeight() {
    MeshConfigException e = failure("""
        services:
          - name: hello
            ports: [8080]
            endpoints:
              - address: 10.0.0.1
                port: 80
              - address: 10.0.0.2
                port: 80
                weight: -2
        """);

    assertThat(e.line()).isEqualTo(9);
    assertThat(e.getMessage())
        .isEqualTo(FILE + ":9: services[0].endpoints[1].weight: -2 (expected: an integer >= 1)");
  }

  @Test
  void endpointWeightZeroAndNonNumber() {
    String template = """
        services:
          - name: hello
            ports: [8080]
            endpoints: [{address: 10.0.0.1, port: 80, weight: %s}]
        """;
    assertThat(failure(template.formatted("0")).getMessage())
        .isEqualTo(FILE + ":4: services[0].endpoints[0].weight: 0 (expected: an integer >= 1)");
    assertThat(failure(template.formatted("heavy")).getMessage())
        .isEqualTo(FILE + ":4: services[0].endpoints[0].weight: heavy (expected: an integer >= 1)");
  }

  @Test
  void badPorts() {
    MeshConfigException servicePort = failure("""
        services:
          - name: hello
            ports:
              - 8080
              - 70000
        """);
    assertThat(servicePort.getMessage())
        .isEqualTo(FILE + ":5: services[0].ports[1]: 70000 (expected: an integer in 1..65535)");

    MeshConfigException endpointPort = failure("""
        services:
          - name: hello
            ports: [8080]
            endpoints:
              - address: 10.0.0.1
                port: 0
        """);
    assertThat(endpointPort.getMessage())
        .isEqualTo(FILE + ":6: services[0].endpoints[0].port: 0 (expected: an integer in 1..65535)");

    MeshConfigException noPorts = failure("""
        services:
          - name: hello
            ports: []
        """);
    assertThat(noPorts.getMessage()).isEqualTo(FILE + ":3: services[0].ports: []"
        + " (expected: a non-empty list of ports, each an integer in 1..65535)");
  }

  @Test
  void missingRequiredField() {
    MeshConfigException e = failure("""
        services:
          - name: hello
            ports: [8080]
            endpoints:
              - address: 10.0.0.1
        """);

    assertThat(e.getMessage()).isEqualTo(FILE + ":5: services[0].endpoints[0]: missing field 'port'"
        + " (expected: an integer in 1..65535)");
  }

  @Test
  void badRegexInPathAndHeader() {
    MeshConfigException path = failure("""
        services:
          - name: hello
            ports: [8080]
            routes:
              - name: r
                matches:
                  - path: {regex: "/v[0-9+/.*"}
                backends: [{}]
        """);
    assertThat(path.line()).isEqualTo(7);
    assertThat(path.getMessage()).startsWith(FILE + ":7: services[0].routes[0].matches[0].path.regex:"
        + " /v[0-9+/.* (expected: a Java regular expression; Unclosed character class");

    MeshConfigException header = failure("""
        services:
          - name: hello
            ports: [8080]
            routes:
              - matches:
                  - headers:
                      - name: x-user
                        regex: "(unclosed"
                backends: [{}]
        """);
    assertThat(header.getMessage()).startsWith(FILE + ":8: services[0].routes[0].matches[0]"
        + ".headers[0].regex: (unclosed (expected: a Java regular expression; ");
  }

  @Test
  void routeWhoseWeightsSumToZero() {
    MeshConfigException e = failure("""
        services:
          - name: hello
            ports: [8080]
            routes:
              - name: ok
                backends: [{weight: 1}]
              - name: nothing
                backends:
                  - {subset: {version: v1}, weight: 0}
                  - {subset: {version: v2}, weight: 0}
        """);

    assertThat(e.getMessage()).isEqualTo(FILE + ":9: services[0].routes[1].backends: weights sum to 0"
        + " (expected: at least one backend with weight >= 1)");
  }

  @Test
  void backendSubsetSelectingNoEndpointIsAllowed() throws Exception {
    MeshSnapshot snapshot = parse("""
        services:
          - name: hello
            ports: [8080]
            endpoints: [{address: 10.0.0.1, port: 80, labels: {version: v1}}]
            routes:
              - backends: [{subset: {version: v9}}]
        """);

    assertThat(snapshot.services().get(0).routes().get(0).name()).isEqualTo("route-0");
  }

  @Test
  void duplicateServiceNamesTheFirstDeclaration() {
    MeshConfigException e = failure("""
        services:
          - name: hello
            ports: [8080]
          - name: other
            ports: [8080]
          - name: hello
            namespace: default
            ports: [9090]
        """);

    assertThat(e.getMessage()).isEqualTo(FILE + ":6: services[2].name: hello (expected: a service name"
        + " not yet declared in namespace default; first declared at line 2)");
  }

  @Test
  void sameNameInAnotherNamespaceIsAnotherService() throws Exception {
    MeshSnapshot snapshot = parse("""
        services:
          - {name: hello, ports: [8080]}
          - {name: hello, namespace: prod, ports: [8080]}
        """);

    assertThat(snapshot.services()).extracting(Service::qualifiedName)
        .containsExactly("hello.default", "hello.prod");
  }

  @Test
  void otherShapeErrors() {
    assertThat(failure("services: {name: hello}\n").getMessage())
        .isEqualTo(FILE + ":1: services: a mapping (expected: a list of services)");
    assertThat(failure("services:\n  - name: Hello_World\n    ports: [80]\n").getMessage())
        .isEqualTo(FILE + ":2: services[0].name: Hello_World (expected: a DNS label: lower-case"
            + " letters, digits and '-', starting with a letter, at most 63 characters)");
    assertThat(failure("services:\n  - name: a\n    ports: [80]\n    ports: [81]\n").getMessage())
        .isEqualTo(FILE + ":4: services[0]: duplicate field 'ports' (expected: each field once)");
    assertThat(failure("""
        services:
          - name: a
            ports: [80]
            routes:
              - matches: [{path: {prefix: /a, exact: /b}}]
                backends: [{}]
        """).getMessage())
        .isEqualTo(FILE + ":5: services[0].routes[0].matches[0].path: a mapping"
            + " (expected: exactly one of: prefix, exact, regex)");
    assertThat(failure("""
        services:
          - name: a
            ports: [80]
            routes:
              - matches: [{path: {prefix: api}}]
                backends: [{}]
        """).getMessage())
        .isEqualTo(FILE + ":5: services[0].routes[0].matches[0].path.prefix: api"
            + " (expected: a path starting with /)");
    assertThat(failure("""
        services:
          - name: a
            ports: [80]
            routes:
              - backends: []
        """).getMessage())
        .isEqualTo(FILE + ":5: services[0].routes[0].backends: [] (expected: a non-empty list of backends)");
  }

  @Test
  void programmaticModelRejectsBadValuesToo() {
    assertThatThrownBy(() -> new ServiceEndpoint("10.0.0.1", 80, 0, Map.of()))
        .hasMessage("weight: 0 (expected: >= 1)");
    assertThatThrownBy(() -> PathMatch.regex("(")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Route("r", List.of(RouteMatch.ANY), List.of(new Backend(Map.of(), 0))))
        .hasMessageContaining("backend weights sum to 0");
  }
}
