package io.jmesh.smoke.apps;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An application with no mesh code: sends GET {@code --url} at a steady {@code --rps} for
 * {@code --seconds} with {@code java.net.http.HttpClient}, and once per second prints what the
 * calls that completed in that second got:
 *
 * <pre>
 * STATS t=&lt;second&gt; &lt;instance&gt;=&lt;count&gt; ... errors=&lt;n&gt; [skipped=&lt;n&gt;]
 * </pre>
 *
 * <p>The instance is the {@code x-instance} response header (as {@link HelloServer} sends it),
 * instances sorted by name. {@code errors} counts calls that threw or got a status &ge; 400;
 * the first error of each second is also printed as {@code ERROR t=<second> <exception>}.
 * {@code skipped} appears only when the client could not keep up (all workers busy and the queue
 * full). The first successful answer's body is printed once, {@code FIRST <body>}; the first
 * answer of each instance as {@code SEEN <instance> client=<the caller identity it saw>} (the
 * {@code client=} field of HelloServer's answer: its {@code x-jmesh-client-id}). At the end: {@code DONE requests=<n> <instance>=<total> ... errors=<n>}. Bounded: sends
 * nothing after {@code --seconds}, waits at most {@code --timeout-ms} more for the calls in
 * flight, then exits.
 *
 * <p>With {@code --warmup-calls n} it first sends n calls one after another, counted apart and
 * reported as {@code WARMUP ok=<n> errors=<n>}, so that the seconds measured begin with
 * connections open and code compiled (a meshed call's first TLS handshake on a busy machine).
 *
 * <p>Usage: {@code TrafficClient --url http://hello:8080/ [--rps 50] [--seconds 30]
 * [--timeout-ms 2000] [--threads 16] [--warmup-calls 0]}
 */
public final class TrafficClient {
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).version(HttpClient.Version.HTTP_1_1).build();
  private final URI url;
  private final Duration timeout;
  private final Object lock = new Object();
  private Map<String, Long> second = new TreeMap<>();
  private final Map<String, Long> total = new TreeMap<>();
  private final java.util.Set<String> seen = new java.util.HashSet<>();
  private long errors;
  private long totalErrors;
  private long skipped;
  private String firstError;

  private TrafficClient(URI url, Duration timeout) {
    this.url = url;
    this.timeout = timeout;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = HelloServer.parse(args);
    URI url = URI.create(opts.getOrDefault("url", "http://hello:8080/"));
    int rps = Integer.parseInt(opts.getOrDefault("rps", "50"));
    int seconds = Integer.parseInt(opts.getOrDefault("seconds", "30"));
    long timeoutMs = Long.parseLong(opts.getOrDefault("timeout-ms", "2000"));
    int threads = Integer.parseInt(opts.getOrDefault("threads", "16"));
    int warmup = Integer.parseInt(opts.getOrDefault("warmup-calls", "0"));
    if (rps < 1 || rps > 10_000 || seconds < 1 || seconds > 3600) {
      throw new IllegalArgumentException("--rps must be 1..10000 and --seconds 1..3600");
    }
    TrafficClient client = new TrafficClient(url, Duration.ofMillis(timeoutMs));
    client.warmUp(warmup);
    client.run(rps, seconds, threads, timeoutMs);
    System.exit(0);
  }

  /** {@code calls} calls in sequence, each bounded by the timeout, outside the statistics. */
  private void warmUp(int calls) {
    if (calls <= 0) {
      return;
    }
    int ok = 0;
    for (int i = 0; i < calls; i++) {
      try {
        HttpResponse<String> response =
            http.send(HttpRequest.newBuilder(url).timeout(timeout).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() < 400) {
          ok++;
          noteSeen(response);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        // Counted below: the warm-up's errors are its own.
      }
    }
    System.out.println("WARMUP ok=" + ok + " errors=" + (calls - ok));
    System.out.flush();
  }

  private void run(int rps, int seconds, int threads, long timeoutMs) throws InterruptedException {
    ThreadPoolExecutor workers =
        new ThreadPoolExecutor(
            threads, threads, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(Math.max(16, rps)),
            r -> {
              Thread t = new Thread(r, "traffic-worker");
              t.setDaemon(true);
              return t;
            });
    ScheduledExecutorService clock =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "traffic-clock");
              t.setDaemon(true);
              return t;
            });
    AtomicBoolean sending = new AtomicBoolean(true);
    long periodNanos = TimeUnit.SECONDS.toNanos(1) / rps;
    clock.scheduleAtFixedRate(
        () -> {
          if (!sending.get()) {
            return;
          }
          try {
            workers.execute(this::callOnce);
          } catch (RejectedExecutionException e) {
            synchronized (lock) {
              skipped++;
            }
          }
        },
        0, periodNanos, TimeUnit.NANOSECONDS);
    long start = System.nanoTime();
    for (int t = 1; t <= seconds; t++) {
      long wait = start + TimeUnit.SECONDS.toNanos(t) - System.nanoTime();
      if (wait > 0) {
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      if (t == seconds) {
        sending.set(false);
      }
      printStats(t);
    }
    clock.shutdownNow();
    workers.shutdown();
    workers.awaitTermination(timeoutMs + 1000, TimeUnit.MILLISECONDS);
    StringBuilder done = new StringBuilder("DONE");
    synchronized (lock) {
      long requests = totalErrors;
      for (long n : total.values()) {
        requests += n;
      }
      done.append(" requests=").append(requests);
      total.forEach((k, v) -> done.append(' ').append(k).append('=').append(v));
      done.append(" errors=").append(totalErrors);
      if (skipped > 0) {
        done.append(" skipped=").append(skipped);
      }
    }
    System.out.println(done);
    System.out.flush();
  }

  private void printStats(int t) {
    StringBuilder line = new StringBuilder("STATS t=").append(t);
    String error;
    synchronized (lock) {
      second.forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
      line.append(" errors=").append(errors);
      if (skipped > 0) {
        line.append(" skipped=").append(skipped);
      }
      error = firstError;
      second = new TreeMap<>();
      errors = 0;
      skipped = 0;
      firstError = null;
    }
    if (error != null) {
      System.out.println("ERROR t=" + t + " " + error);
    }
    System.out.println(line);
    System.out.flush();
  }

  private final java.util.concurrent.atomic.AtomicBoolean firstPrinted =
      new java.util.concurrent.atomic.AtomicBoolean();

  private void callOnce() {
    try {
      HttpResponse<String> response =
          http.send(HttpRequest.newBuilder(url).timeout(timeout).GET().build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() >= 400) {
        recordError("HTTP " + response.statusCode() + " " + response.body().strip());
      } else {
        String instance = response.headers().firstValue("x-instance").orElse("unknown");
        if (firstPrinted.compareAndSet(false, true)) {
          // One sample of what the server saw (HelloServer echoes the request's facts).
          System.out.println("FIRST " + response.body().strip());
        }
        synchronized (lock) {
          second.merge(instance, 1L, Long::sum);
          total.merge(instance, 1L, Long::sum);
        }
        noteSeen(response);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      recordError(describe(e));
    }
  }

  /** Prints {@code SEEN} for an instance's first answer. */
  private void noteSeen(HttpResponse<String> response) {
    String instance = response.headers().firstValue("x-instance").orElse("unknown");
    boolean first;
    synchronized (lock) {
      first = seen.add(instance);
    }
    if (first) {
      System.out.println("SEEN " + instance + " client=" + field(response.body(), "client"));
    }
  }

  /** The value of {@code name=} in a HelloServer answer, or "?" when it has none. */
  private static String field(String body, String name) {
    for (String token : body.strip().split(" ")) {
      if (token.startsWith(name + "=")) {
        return token.substring(name.length() + 1);
      }
    }
    return "?";
  }

  private void recordError(String what) {
    synchronized (lock) {
      errors++;
      totalErrors++;
      if (firstError == null) {
        firstError = what;
      }
    }
  }

  private static String describe(Throwable e) {
    StringBuilder out = new StringBuilder(e.getClass().getName());
    if (e.getMessage() != null) {
      out.append(": ").append(e.getMessage());
    }
    Throwable cause = e.getCause();
    if (cause != null && cause != e
        && !(cause.getClass() == e.getClass() && cause.getMessage() == null)) {
      out.append(" (caused by ").append(cause.getClass().getName());
      if (cause.getMessage() != null) {
        out.append(": ").append(cause.getMessage());
      }
      out.append(')');
    }
    return out.toString().replace('\n', ' ');
  }
}
