package io.jmesh.runtime.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SpiffeIdTest {
  @Test
  void parsesAndFormatsTheIstioForm() {
    SpiffeId id = SpiffeId.parse("spiffe://cluster.local/ns/default/sa/hello");

    assertThat(id.trustDomain()).isEqualTo("cluster.local");
    assertThat(id.namespace()).isEqualTo("default");
    assertThat(id.serviceAccount()).isEqualTo("hello");
    assertThat(id).hasToString("spiffe://cluster.local/ns/default/sa/hello");
    assertThat(id).isEqualTo(SpiffeId.of("cluster.local", "default", "hello"));
  }

  @Test
  void refusesOtherFormsWithTheExpectedOneNamed() {
    String expected = "(expected: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)";
    assertThatThrownBy(() -> SpiffeId.parse("https://cluster.local/ns/default/sa/hello"))
        .hasMessage("SPIFFE id: \"https://cluster.local/ns/default/sa/hello\" " + expected);
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://cluster.local/ns/default"))
        .hasMessage("SPIFFE id: \"spiffe://cluster.local/ns/default\" " + expected);
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://cluster.local/ns/default/sa/hello/extra"))
        .hasMessage("SPIFFE id: \"spiffe://cluster.local/ns/default/sa/hello/extra\" " + expected);
    assertThatThrownBy(() -> SpiffeId.parse("spiffe://Cluster.Local/ns/default/sa/hello"))
        .hasMessage(
            "SPIFFE id: \"spiffe://Cluster.Local/ns/default/sa/hello\": trust domain: \"Cluster.Local\""
                + " (expected: 1 or more of lower case letters, digits, '.', '-', '_')");
    assertThatThrownBy(() -> SpiffeId.of("cluster.local", "default", "a b"))
        .hasMessage("service account: \"a b\" (expected: 1 or more of letters, digits, '.', '-', '_')");
    assertThatThrownBy(() -> SpiffeId.of("cluster.local", "..", "hello"))
        .hasMessage("namespace: \"..\" (expected: a name, not a dot segment)");
  }
}
