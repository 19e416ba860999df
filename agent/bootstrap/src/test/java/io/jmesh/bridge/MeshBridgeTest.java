package io.jmesh.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MeshBridgeTest {
  @Test
  void responseHeaderEditErrorsAreCountedAndWarnedOnce() {
    String place = "test-client-" + System.nanoTime(); // counts live for the JVM: a place of its own
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream original = System.err;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      MeshBridge.responseHeadersNotEdited(place, new IllegalStateException("first"));
      MeshBridge.responseHeadersNotEdited(place, new IllegalStateException("second"));
    } finally {
      System.setErr(original);
    }

    assertThat(MeshBridge.errorCounts()).containsEntry(place + MeshBridge.RESPONSE_HEADERS, 2L);
    String log = err.toString(StandardCharsets.UTF_8);
    // One warning, with the first error's trace; the second is only counted.
    assertThat(log.lines().filter(l -> l.contains(" jmesh WARN " + place + ": the route's response header edits failed")))
        .hasSize(1);
    assertThat(log).contains("IllegalStateException: first").doesNotContain("second");
  }
}
