package io.jmesh.smoke.apps;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * An application with no mesh code that loads one URL with one HTTP client and prints one
 * machine-readable line at the end. Used by the benchmark harness, with and without the agent.
 *
 * <ul>
 *   <li>{@code saturate}: {@code --concurrency} threads in a closed loop; reports requests/s and
 *       the latency of each request (service time).
 *   <li>{@code rate}: open loop at a fixed {@code --rps}. A dispatcher thread computes the intended
 *       send time of every request and hands it to a bounded pool of {@code --concurrency}
 *       workers; latency is measured from the <em>intended</em> send time, so a stall delays (and
 *       is charged to) every request scheduled behind it instead of being hidden (no coordinated
 *       omission). {@code late} counts requests that a worker started more than {@code --late-ms}
 *       after their intended time; {@code dropped} counts requests that found the queue full
 *       (they are also counted as errors).
 *   <li>{@code once}: one request, then prints the milliseconds from JVM start (the runtime
 *       MXBean's start time) to the end of that request: the startup cost seen by a service.
 *   <li>{@code footprint}: for the benchmark's footprint section, a JVM that stays up to be
 *       measured: {@code once}'s line, then {@code --warmup-calls} requests one at a time, then
 *       {@code IDLE}; it then waits for a line on standard input: {@code load} runs {@code rate}
 *       for {@code --seconds} (no warm-up) and prints its result as {@code LOADED ...}, and waits
 *       again; any other line, or the end of input, ends it.
 * </ul>
 *
 * <p>Requests sent during {@code --warmup-seconds} are not recorded. Every response body is read
 * to the end; a status other than 200 or an exception is an error. All loops end by count or by
 * time. In {@code saturate} and {@code rate} it prints {@code WINDOW start} when the measured
 * window opens and {@code WINDOW end} when it closes, so that a harness can sample the CPU time of
 * other processes (server, proxies) over the same window. The last line is {@code RESULT mode=..
 * client=.. rps=.. p50_us=.. p90_us=.. p99_us=.. max_us=.. errors=.. late=.. dropped=.. requests=..
 * cpu_ms=.. rss_kb=..}, where {@code cpu_ms} is this JVM's own CPU time (user + system) inside the
 * window, or -1 where {@code /proc} is missing.
 *
 * <p>{@code --client spring} is a Spring Boot application's {@code RestClient} on the JDK
 * HttpClient; the application starts before the first request (see {@link #springClient}).
 *
 * <p>Usage: {@code LoadClient --client jdk|jdk-async|okhttp|spring --url http://hello:8080/ --mode saturate|rate|once|footprint
 * [--seconds 10] [--warmup-seconds 5] [--concurrency 8] [--rps 1000] [--late-ms 10]}
 * ({@code --mode footprint} takes {@code [--warmup-calls 200]} too)
 */
public final class LoadClient {
  private static final long REQUEST_TIMEOUT_SECONDS = 10;

  /**
   * Linux reports process CPU time in clock ticks of USER_HZ, which is 100 on every mainstream
   * architecture (the kernel's ABI fixes it, whatever CONFIG_HZ is).
   */
  private static final long CLOCK_TICKS_PER_SECOND = 100;

  private LoadClient() {}

  /** One blocking request; returns the status after reading the whole body. */
  interface Client {
    int get(String url) throws Exception;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = HelloServer.parse(args);
    String kind = opts.getOrDefault("client", "jdk");
    String url = opts.get("url");
    if (url == null) {
      throw new IllegalArgumentException("--url is required");
    }
    String mode = opts.getOrDefault("mode", "saturate");
    double seconds = Double.parseDouble(opts.getOrDefault("seconds", "10"));
    double warmup = Double.parseDouble(opts.getOrDefault("warmup-seconds", "5"));
    int concurrency = Integer.parseInt(opts.getOrDefault("concurrency", "8"));
    int rps = Integer.parseInt(opts.getOrDefault("rps", "1000"));
    long lateNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(opts.getOrDefault("late-ms", "10")));

    Client client = client(kind, Math.max(concurrency, 1));
    String result;
    switch (mode) {
      case "once":
        result = once(client, kind, url);
        break;
      case "saturate":
        result = saturate(client, kind, url, nanos(warmup), nanos(seconds), concurrency);
        break;
      case "rate":
        result = rate(client, kind, url, nanos(warmup), nanos(seconds), concurrency, rps, lateNanos);
        break;
      case "footprint":
        result =
            footprint(client, kind, url, Integer.parseInt(opts.getOrDefault("warmup-calls", "200")), nanos(seconds),
                concurrency, rps, lateNanos);
        break;
      default:
        throw new IllegalArgumentException("--mode " + mode + " (expected: saturate, rate, once or footprint)");
    }
    System.out.println(result + " rss_kb=" + rssKb());
    System.out.flush();
    System.exit(0);
  }

  static long nanos(double seconds) {
    return (long) (seconds * 1e9);
  }

  static Client client(String kind, int connections) {
    switch (kind) {
      case "jdk":
        return new JdkClient(false);
      case "jdk-async":
        return new JdkClient(true);
      case "okhttp":
        return new OkHttpLoadClient(connections);
      case "spring":
        return springClient();
      default:
        throw new IllegalArgumentException("--client " + kind + " (expected: jdk, jdk-async, okhttp or spring)");
    }
  }

  /**
   * {@code --client spring}: starts the Spring Boot application of {@code smoke-tests/spring-app}
   * (on the class path only when the benchmark runs it) and uses its {@code RestClient}. Found by
   * name, through a JDK type, because this module compiles without Spring.
   */
  static Client springClient() {
    String app = "io.jmesh.smoke.spring.SpringClientApp";
    try {
      @SuppressWarnings("unchecked")
      java.util.function.Function<String, Integer> call =
          (java.util.function.Function<String, Integer>)
              Class.forName(app).getMethod("start", String[].class).invoke(null, (Object) new String[0]);
      return call::apply;
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException("--client spring: " + app + " is not on the class path (expected:"
          + " smoke-tests/spring-app/target/classes and libs, built with -Pbench)", e);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("--client spring: " + app + ".start(String...) failed", e);
    }
  }

  /**
   * {@code java.net.http.HttpClient} over HTTP/1.1, one client for all requests: {@code send}, or
   * with {@code --client jdk-async} {@code sendAsync(..).get()} (the JDK runs the exchange on the
   * client's executor instead of partly on the calling thread).
   */
  static final class JdkClient implements Client {
    private final HttpClient http =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1).build();
    private final boolean async;

    JdkClient(boolean async) {
      this.async = async;
    }

    @Override
    public int get(String url) throws Exception {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(REQUEST_TIMEOUT_SECONDS)).GET().build();
      HttpResponse<byte[]> r =
          async
              ? http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray()).get(REQUEST_TIMEOUT_SECONDS, TimeUnit.SECONDS)
              : http.send(request, HttpResponse.BodyHandlers.ofByteArray());
      return r.body().length > 0 ? r.statusCode() : -1;
    }
  }

  /**
   * OkHttp through its 3.x API. The pool keeps as many idle connections as there are callers, so
   * that OkHttp's default of five does not close and reopen connections under load.
   */
  static final class OkHttpLoadClient implements Client {
    private final okhttp3.OkHttpClient http;

    OkHttpLoadClient(int connections) {
      http =
          new okhttp3.OkHttpClient.Builder()
              .connectionPool(new okhttp3.ConnectionPool(Math.max(5, connections), 5, TimeUnit.MINUTES))
              .connectTimeout(5, TimeUnit.SECONDS)
              .readTimeout(REQUEST_TIMEOUT_SECONDS, TimeUnit.SECONDS)
              .build();
    }

    @Override
    public int get(String url) throws Exception {
      okhttp3.Request request = new okhttp3.Request.Builder().url(url).build();
      try (okhttp3.Response r = http.newCall(request).execute();
          InputStream in = r.body().byteStream()) {
        byte[] buf = new byte[4096];
        long total = 0;
        for (int n; (n = in.read(buf)) >= 0; ) {
          total += n;
        }
        return total > 0 ? r.code() : -1;
      }
    }
  }

  /**
   * {@code once}, warm-up calls, then idles until the harness asks for a load run or the end; see
   * the class comment. Every wait is on the harness, which closes standard input when it is done.
   */
  static String footprint(Client client, String kind, String url, int warmupCalls, long measure, int concurrency,
      int rps, long lateNanos) throws IOException, InterruptedException {
    System.out.println(once(client, kind, url));
    long warmupErrors = 0;
    for (int i = 0; i < warmupCalls; i++) {
      try {
        if (client.get(url) != 200) {
          warmupErrors++;
        }
      } catch (Exception e) {
        warmupErrors++;
      }
    }
    System.out.println("IDLE warmup_calls=" + warmupCalls + " warmup_errors=" + warmupErrors);
    System.out.flush();
    java.io.BufferedReader in =
        new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
    String command;
    while ("load".equals(command = in.readLine())) {
      System.out.println("LOADED " + rate(client, kind, url, 0, measure, concurrency, rps, lateNanos).substring("RESULT ".length()));
      System.out.flush();
    }
    return "RESULT mode=footprint client=" + kind + " end=" + command;
  }

  static String once(Client client, String kind, String url) {
    int status;
    try {
      status = client.get(url);
    } catch (Exception e) {
      status = -1;
    }
    long end = System.currentTimeMillis();
    long start = ManagementFactory.getRuntimeMXBean().getStartTime();
    return "RESULT mode=once client=" + kind + " status=" + status + " first_request_ms=" + (end - start)
        + " errors=" + (status == 200 ? 0 : 1);
  }

  static String saturate(Client client, String kind, String url, long warmup, long measure, int concurrency)
      throws InterruptedException {
    long t0 = System.nanoTime();
    long from = t0 + warmup;
    long to = from + measure;
    Histogram[] histograms = new Histogram[concurrency];
    long[] errors = new long[concurrency];
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < concurrency; i++) {
      Histogram h = histograms[i] = new Histogram();
      int index = i;
      Thread t =
          new Thread(
              () -> {
                long now = System.nanoTime();
                while (now < to) {
                  long start = now;
                  boolean ok;
                  try {
                    ok = client.get(url) == 200;
                  } catch (Exception e) {
                    ok = false;
                  }
                  now = System.nanoTime();
                  // Count a request in the window when it completes inside it.
                  if (start >= from && now <= to) {
                    if (ok) {
                      h.record(now - start);
                    } else {
                      errors[index]++;
                    }
                  }
                }
              },
              "load-" + i);
      threads.add(t);
      t.start();
    }
    parkUntil(from);
    long cpuFrom = window("start");
    parkUntil(to);
    long cpuTo = window("end");
    long joinDeadline = to + TimeUnit.SECONDS.toNanos(REQUEST_TIMEOUT_SECONDS + 5);
    for (Thread t : threads) {
      t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(joinDeadline - System.nanoTime())));
    }
    Histogram all = new Histogram();
    long errorCount = 0;
    for (int i = 0; i < concurrency; i++) {
      all.add(histograms[i]);
      errorCount += errors[i];
    }
    // Throughput counts successful requests only.
    return line("saturate", kind, all.count() / (measure / 1e9), all, errorCount, 0, 0)
        + " cpu_ms=" + cpuMillis(cpuFrom, cpuTo);
  }

  static String rate(
      Client client, String kind, String url, long warmup, long measure, int workers, int rps, long lateNanos)
      throws InterruptedException {
    long period = 1_000_000_000L / rps;
    long total = (warmup + measure) / period;
    long firstMeasured = warmup / period;
    // Enough room for two seconds of backlog; beyond that requests are dropped and counted.
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(workers, workers, 1, TimeUnit.MINUTES, new ArrayBlockingQueue<>(Math.max(16, 2 * rps)));
    pool.prestartAllCoreThreads();
    ThreadLocal<Histogram> local = new ThreadLocal<>();
    List<Histogram> histograms = new ArrayList<>();
    AtomicLong errors = new AtomicLong();
    AtomicLong late = new AtomicLong();
    AtomicLong dropped = new AtomicLong();

    long t0 = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10);
    long cpuFrom = -1;
    for (long i = 0; i < total; i++) {
      long intended = t0 + i * period;
      parkUntil(intended);
      boolean measured = i >= firstMeasured;
      if (i == firstMeasured) {
        cpuFrom = window("start");
      }
      try {
        pool.execute(
            () -> {
              long started = System.nanoTime();
              boolean ok;
              try {
                ok = client.get(url) == 200;
              } catch (Exception e) {
                ok = false;
              }
              long end = System.nanoTime();
              if (!measured) {
                return;
              }
              if (started - intended > lateNanos) {
                late.incrementAndGet();
              }
              if (!ok) {
                errors.incrementAndGet();
                return;
              }
              Histogram h = local.get();
              if (h == null) {
                h = new Histogram();
                local.set(h);
                synchronized (histograms) {
                  histograms.add(h);
                }
              }
              h.record(end - intended);
            });
      } catch (RejectedExecutionException e) {
        if (measured) {
          dropped.incrementAndGet();
          errors.incrementAndGet();
        }
      }
    }
    long sendEnd = System.nanoTime();
    pool.shutdown();
    if (!pool.awaitTermination(REQUEST_TIMEOUT_SECONDS + 5, TimeUnit.SECONDS)) {
      pool.shutdownNow();
    }
    // The window closes when the last measured request has finished: its work belongs to it.
    long cpuTo = window("end");
    Histogram all = new Histogram();
    synchronized (histograms) {
      for (Histogram h : histograms) {
        all.add(h);
      }
    }
    long measuredCount = total - firstMeasured;
    double measuredSeconds = Math.max(1e-9, (sendEnd - (t0 + firstMeasured * period)) / 1e9);
    // Achieved rate: completed requests over the measured send window.
    double achieved = all.count() / measuredSeconds;
    long unfinished = measuredCount - all.count() - errors.get();
    return line("rate", kind, achieved, all, errors.get() + Math.max(0, unfinished), late.get(), dropped.get())
        + " target_rps=" + rps + " cpu_ms=" + cpuMillis(cpuFrom, cpuTo);
  }

  private static String line(
      String mode, String kind, double rps, Histogram h, long errors, long late, long dropped) {
    return String.format(
        Locale.ROOT,
        "RESULT mode=%s client=%s rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d errors=%d late=%d dropped=%d requests=%d",
        mode,
        kind,
        rps,
        h.percentile(50) / 1000,
        h.percentile(90) / 1000,
        h.percentile(99) / 1000,
        h.max() / 1000,
        errors,
        late,
        dropped,
        h.count());
  }

  private static void parkUntil(long deadlineNanos) {
    for (long wait = deadlineNanos - System.nanoTime(); wait > 0; wait = deadlineNanos - System.nanoTime()) {
      LockSupport.parkNanos(wait);
    }
  }

  /**
   * Announces a window edge on standard output and returns this JVM's CPU ticks at that moment.
   * Flushed at once: the harness samples the other processes when it reads the line.
   */
  private static long window(String edge) {
    long ticks = cpuTicks();
    System.out.println("WINDOW " + edge);
    System.out.flush();
    return ticks;
  }

  private static long cpuMillis(long fromTicks, long toTicks) {
    return fromTicks < 0 || toTicks < 0 ? -1 : (toTicks - fromTicks) * 1000 / CLOCK_TICKS_PER_SECOND;
  }

  /** User plus system CPU ticks of this process from {@code /proc/self/stat}; -1 where there is none. */
  static long cpuTicks() {
    try {
      String stat = Files.readString(Path.of("/proc/self/stat"), StandardCharsets.US_ASCII);
      // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
      // f[0] is field 3 (state); utime and stime are fields 14 and 15.
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (IOException | RuntimeException e) {
      return -1; // Not Linux.
    }
  }

  /** Resident set size of this JVM, from {@code /proc/self/status}; -1 where there is none. */
  static long rssKb() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/self/status"), StandardCharsets.UTF_8)) {
        if (l.startsWith("VmRSS:")) {
          return Long.parseLong(l.substring(6).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux.
    }
    return -1;
  }

  /**
   * A log-linear histogram of nanosecond values: exact below 64, then 64 sub-buckets per power of
   * two (relative error under 1.6%). Not thread-safe: one per thread, merged at the end.
   */
  static final class Histogram {
    private static final int SUB_BITS = 6;
    private static final int SUB = 1 << SUB_BITS;
    private final long[] counts = new long[(64 - SUB_BITS + 1) * SUB];
    private long count;
    private long max;

    void record(long value) {
      long v = Math.max(0, value);
      counts[index(v)]++;
      count++;
      max = Math.max(max, v);
    }

    static int index(long v) {
      if (v < SUB) {
        return (int) v;
      }
      int exp = 63 - Long.numberOfLeadingZeros(v); // >= SUB_BITS
      int shift = exp - SUB_BITS;
      return (shift + 1) * SUB + (int) ((v >>> shift) - SUB);
    }

    /** The highest value that falls into bucket {@code index}. */
    static long upperBound(int index) {
      if (index < SUB) {
        return index;
      }
      int shift = index / SUB - 1;
      long base = (long) (index % SUB + SUB) << shift;
      return base + (1L << shift) - 1;
    }

    void add(Histogram other) {
      for (int i = 0; i < counts.length; i++) {
        counts[i] += other.counts[i];
      }
      count += other.count;
      max = Math.max(max, other.max);
    }

    long count() {
      return count;
    }

    long max() {
      return max;
    }

    /** The value at {@code p} percent (bucket upper bound, capped at the maximum); 0 when empty. */
    long percentile(double p) {
      if (count == 0) {
        return 0;
      }
      long rank = Math.max(1, (long) Math.ceil(p / 100.0 * count));
      long seen = 0;
      for (int i = 0; i < counts.length; i++) {
        seen += counts[i];
        if (seen >= rank) {
          return Math.min(upperBound(i), max);
        }
      }
      return max;
    }
  }
}
