package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.telemetry.MeshTap;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What one {@code /tap} client receives: its destination's events, drops counted, then the end. */
class TapStreamTest {

  private static MeshTap.Event outbound(String destination, String path) {
    return new MeshTap.Event(
        1_700_000_000_123L,
        MeshTap.Direction.OUTBOUND,
        "client.default",
        destination,
        "GET",
        "hello:8080",
        path,
        200,
        null,
        1_234_567,
        "127.0.0.2:8080",
        "default",
        null,
        1);
  }

  @Test
  void writesTheDestinationsEventsAsJsonLinesAndEndsAfterMax() throws Exception {
    TapStream stream = new TapStream("hello", 2, 16, d -> d.equals("hello.default"));
    stream.accept(outbound("hello.default", "/a"));
    stream.accept(outbound("helloworld.default", "/other")); // another service: not this tap's
    stream.accept(outbound("hello.default", "/b\"q"));
    stream.accept(outbound("hello.default", "/c")); // beyond max: never written

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    stream.run(out, 10);

    String[] lines = out.toString(StandardCharsets.UTF_8).split("\n");
    assertThat(lines).hasSize(2);
    assertThat(lines[0])
        .isEqualTo(
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"direction\":\"outbound\",\"source\":\"client.default\","
                + "\"destination\":\"hello.default\",\"method\":\"GET\",\"authority\":\"hello:8080\",\"path\":\"/a\","
                + "\"status\":200,\"errorType\":null,\"latencyMicros\":1234,\"endpoint\":\"127.0.0.2:8080\","
                + "\"route\":\"default\",\"peer\":null,\"attempts\":1,\"tls\":true}");
    assertThat(lines[1]).contains("\"path\":\"/b\\\"q\"");
  }

  @Test
  void aFullQueueDropsAndTheStreamSaysHowManyWereLost() throws Exception {
    TapStream stream = new TapStream("hello.default", 1, 2, d -> false);
    for (int i = 0; i < 5; i++) {
      stream.accept(outbound("hello.default", "/" + i)); // never blocks
    }
    assertThat(stream.dropped()).isEqualTo(3);

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    stream.run(out, 10);

    assertThat(out.toString(StandardCharsets.UTF_8).split("\n"))
        .containsExactly("{\"dropped\":3}", lineOf(stream, "/0"));
  }

  private static String lineOf(TapStream stream, String path) {
    return stream.line(outbound("hello.default", path)).strip();
  }

  @Test
  void anIdleStreamWritesHeartbeatLines() throws Exception {
    TapStream stream = new TapStream("", 1, 4, d -> false);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    // Feed the event only after the first empty poll, from another thread, as a request would.
    Thread feeder =
        new Thread(
            () -> {
              org.awaitility.Awaitility.await()
                  .atMost(java.time.Duration.ofSeconds(5))
                  .until(() -> out.size() > 0);
              stream.accept(outbound("any.default", "/late"));
            });
    feeder.start();
    stream.run(out, 5);
    feeder.join(5_000);

    String text = out.toString(StandardCharsets.UTF_8);
    assertThat(text).startsWith("\n");
    assertThat(text.strip()).contains("\"path\":\"/late\"");
  }

  @Test
  void aBareNameMatchesEveryNamespaceButNotAPrefix() {
    TapStream bare = new TapStream("hello", 0, 1, d -> false);
    assertThat(bare.matches("hello.default")).isTrue();
    assertThat(bare.matches("hello")).isTrue();
    assertThat(bare.matches("hellox.default")).isFalse();
    assertThat(new TapStream("hello.prod", 0, 1, d -> false).matches("hello.default")).isFalse();
    assertThat(new TapStream("", 0, 1, d -> false).matches("anything.default")).isTrue();
  }
}
