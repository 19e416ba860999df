package io.jmesh.agent.tooling;

import io.jmesh.runtime.telemetry.MeshTap;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * One client of the admin endpoint's {@code /tap}: a {@link MeshTap} listener that queues the
 * events of one destination, and the loop that writes them as JSON lines (one object per line)
 * until the client has had {@code max} of them or goes away.
 *
 * <p>The request path never waits for a tap: {@link #accept} offers to a bounded queue and, when
 * the client reads too slowly, drops the event and counts it; the stream then carries a line
 * {@code {"dropped":N}} so that the reader knows it missed some. While no event comes, an empty
 * line every heartbeat lets the writer notice a client that disconnected (a write fails), so the
 * subscription ends without a request to wait for.
 *
 * <p>Threading: {@link #accept} is called on request threads, concurrently; {@link #run} on one
 * thread of its own, which owns the output stream.
 */
final class TapStream implements java.util.function.Consumer<MeshTap.Event> {
  private final String destination; // empty: every destination
  private final long max; // 0: unbounded
  private final Predicate<String> meshTls; // whether calls to a destination use mesh TLS
  private final BlockingQueue<MeshTap.Event> queue;
  private final AtomicLong dropped = new AtomicLong();

  /**
   * @param destination a service name as the CLI takes it: {@code hello} (any namespace) or
   *     {@code hello.default}; empty for every destination
   * @param max events to write before the stream ends; 0 for no limit
   * @param capacity events held while the client reads too slowly; beyond it they are dropped
   */
  TapStream(String destination, long max, int capacity, Predicate<String> meshTls) {
    this.destination = destination;
    this.max = max;
    this.meshTls = meshTls;
    this.queue = new ArrayBlockingQueue<>(capacity);
  }

  @Override
  public void accept(MeshTap.Event event) {
    if (matches(event.destination()) && !queue.offer(event)) {
      dropped.incrementAndGet();
    }
  }

  /** {@code hello} matches {@code hello.default}, {@code hello.default} only itself. */
  boolean matches(String qualified) {
    return destination.isEmpty()
        || qualified.equals(destination)
        || (qualified.startsWith(destination) && qualified.charAt(destination.length()) == '.');
  }

  /** Events dropped so far because the queue was full. */
  long dropped() {
    return dropped.get();
  }

  /**
   * Writes events to {@code out} until {@code max} were written; returns normally then.
   *
   * @throws IOException when the client went away (a write failed)
   * @throws InterruptedException when the admin endpoint closes
   */
  void run(OutputStream out, long heartbeatMillis) throws IOException, InterruptedException {
    long sent = 0;
    while (max == 0 || sent < max) {
      MeshTap.Event event = queue.poll(heartbeatMillis, TimeUnit.MILLISECONDS);
      long lost = dropped.getAndSet(0);
      if (lost > 0) {
        out.write(("{\"dropped\":" + lost + "}\n").getBytes(StandardCharsets.UTF_8));
      }
      if (event == null) {
        out.write('\n');
      } else {
        out.write(line(event).getBytes(StandardCharsets.UTF_8));
        sent++;
      }
      out.flush();
    }
  }

  /** One event as a JSON line; the field names are an API (agent/README.md, "Tap"). */
  String line(MeshTap.Event e) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("time", Instant.ofEpochMilli(e.epochMillis()).toString());
    m.put("direction", e.direction().name().toLowerCase(Locale.ROOT));
    m.put("source", e.source());
    m.put("destination", e.destination());
    m.put("method", e.method());
    m.put("authority", e.authority());
    m.put("path", e.path());
    m.put("status", e.status());
    m.put("errorType", e.errorType());
    m.put("latencyMicros", TimeUnit.NANOSECONDS.toMicros(e.latencyNanos()));
    m.put("endpoint", e.endpoint());
    m.put("route", e.route());
    m.put("peer", e.peer());
    m.put("attempts", e.attempts());
    // Outbound: whether the destination is reached over mesh TLS now; inbound: a proven caller.
    m.put(
        "tls",
        e.direction() == MeshTap.Direction.INBOUND ? e.peer() != null : meshTls.test(e.destination()));
    return Json.write(m) + "\n";
  }
}
