package io.jmesh.runtime.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The file-mode YAML of a route's request mirror. */
class RequestMirrorConfigTest {
  private static final String FILE = "/etc/jmesh/mesh.yaml";

  private static String file(String mirrorYaml) {
    return """
        services:
          - name: hello
            ports: [8080]
            routes:
              - name: api
                backends: [{}]
        %s
          - name: shadow
            ports: [8080]
          - name: shadow
            namespace: test
            ports: [9090]
        """.formatted(mirrorYaml.stripIndent().indent(8).stripTrailing());
  }

  private static RequestMirror mirror(String mirrorYaml) throws MeshConfigException {
    return MeshConfigParser.parse(FILE, file(mirrorYaml), "default", true)
        .services().get(0).routes().get(0).filters().mirror();
  }

  private static String failure(String mirrorYaml, boolean applied) {
    try {
      MeshConfigParser.parse(FILE, file(mirrorYaml), "default", applied);
    } catch (MeshConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("expected an error for:\n" + mirrorYaml);
  }

  @Test
  void aMirrorInTheRoutesNamespaceCopiesEveryRequestByDefault() throws Exception {
    assertThat(mirror("mirror: {service: shadow}")).isEqualTo(new RequestMirror("shadow", "default", 100));
  }

  @Test
  void aMirrorInAnotherNamespaceWithAShare() throws Exception {
    assertThat(mirror("mirror: {service: shadow, namespace: test, percent: 12.5}"))
        .isEqualTo(new RequestMirror("shadow", "test", 12.5));
  }

  @Test
  void aRouteWithoutMirrorHasNone() throws Exception {
    assertThat(mirror("")).isNull();
  }

  @Test
  void badValuesNameFieldValueAndExpectation() {
    assertThat(failure("mirror: {namespace: test}", true))
        .isEqualTo(FILE + ":7: services[0].routes[0].mirror: missing field 'service' (expected: a service name (DNS label))");
    assertThat(failure("mirror: {service: Shadow}", true))
        .isEqualTo(FILE + ":7: services[0].routes[0].mirror.service: Shadow (expected: a service name (DNS label))");
    assertThat(failure("mirror: {service: shadow, percent: 101}", true))
        .isEqualTo(FILE + ":7: services[0].routes[0].mirror.percent: 101 (expected: a percentage in 0..100)");
    assertThat(failure("mirror: {service: shadow, port: 8080}", true))
        .contains("services[0].routes[0].mirror: unknown field 'port' (expected one of: service, namespace, percent)");
  }

  @Test
  void aMirrorToAServiceTheFileDoesNotDeclareIsRefused() {
    assertThat(failure("mirror: {service: shadow, namespace: prod}", true))
        .isEqualTo(FILE + ":7: services[0].routes[0].mirror.service: shadow in namespace prod"
            + " (expected: a service declared in this file)");
  }

  @Test
  void aMirrorIsRefusedWhereTheClientsWouldNotApplyIt() throws Exception {
    // The switch the parser obeys; the clients apply mirrors now, so a file's mirror is accepted.
    assertThat(RouteFilters.MIRROR_APPLIED).isTrue();
    assertThat(MeshConfigParser.parse(FILE, file("mirror: {service: shadow}"), "default")
        .services().get(0).routes().get(0).filters().mirror()).isNotNull();
    assertThat(failure("mirror: {service: shadow}", false))
        .isEqualTo(FILE + ":7: services[0].routes[0].mirror: " + RouteFilters.NOT_APPLIED
            + " (expected: no mirror on a route until they apply it)");
  }

  @Test
  void theModelChecksItsOwnValues() {
    assertThatThrownBy(() -> new RequestMirror("shadow", "default", -1))
        .hasMessage("mirror percent: -1.0 (expected: 0..100)");
    assertThatThrownBy(() -> new RequestMirror("a.b", "default", 1))
        .hasMessage("mirror service: a.b (expected: a DNS label)");
  }
}
