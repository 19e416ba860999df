package io.jmesh.runtime.inbound;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ProbePathsTest {
  private static final String EXPECTED =
      "(expected: an exact path such as /healthz: starting with '/', printable ASCII without spaces, no '?', '#' or '..' segment)";

  @Test
  void aCommaSeparatedListIsReadTrimmedBlanksSkipped() {
    assertThat(InboundTerminator.Options.parseProbePaths(" /healthz, /ready ,,")).containsExactlyInAnyOrder("/healthz", "/ready");
    assertThat(InboundTerminator.Options.parseProbePaths("")).isEmpty();
  }

  @Test
  void errorsNameThePathAndWhatWasExpected() {
    assertThatThrownBy(() -> InboundTerminator.Options.parseProbePaths("/healthz,ready"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("probe path 'ready' " + EXPECTED);
    assertThatThrownBy(() -> InboundTerminator.Options.parseProbePaths("/healthz?full=1"))
        .hasMessage("probe path '/healthz?full=1' " + EXPECTED);
    assertThatThrownBy(() -> InboundTerminator.Options.parseProbePaths("/a/../admin"))
        .hasMessage("probe path '/a/../admin' " + EXPECTED);
    assertThatThrownBy(() -> InboundTerminator.Options.parseProbePaths("/health z"))
        .hasMessage("probe path '/health z' " + EXPECTED);
  }

  @Test
  void optionsCheckThePathsTheyAreGiven() {
    InboundTerminator.Options o =
        InboundTerminator.Options.of(new InetSocketAddress(0), new InetSocketAddress(8080));

    assertThat(o.probePaths()).isEmpty();
    assertThat(o.withProbePaths(List.of("/healthz")).withMode(InboundTerminator.Mode.STRICT).probePaths())
        .isEqualTo(Set.of("/healthz"));
    assertThatThrownBy(() -> o.withProbePaths(List.of("/ok", "#frag")))
        .hasMessage("probe path '#frag' " + EXPECTED);
  }

  @Test
  void aRequestTargetsPathIsItsPartBeforeTheQuery() {
    assertThat(ProbePaths.pathOf("/healthz?verbose")).isEqualTo("/healthz");
    assertThat(ProbePaths.pathOf("/ready")).isEqualTo("/ready");
  }
}
