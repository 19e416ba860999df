package io.jmesh.injector.server;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;

/**
 * The webhook's TLS context, from the PEM files of a mounted Secret ({@link TlsFiles}), reloaded
 * when they change. Each {@link #poll} reads the files and compares their SHA-256 with the last
 * read; on a change it parses and checks them and, if they are good, swaps the context. New
 * connections take the context in force at their accept ({@link #current}); open connections keep
 * the one they started with until they close. Bad files (unreadable, a key of another
 * certificate, expired, not signed by {@code ca.crt}) keep the last good context, with one
 * warning per new content.
 *
 * <p>The injector only reads these files. Who writes them is not its business: the controller,
 * cert-manager or a person with {@code kubectl create secret tls}.
 *
 * <p>Thread-safety: {@link #poll} may run on any thread, one at a time (a single scheduler
 * thread); {@link #current} on any thread.
 */
public final class ServerTls {
  private static final Logger LOG = System.getLogger("io.jmesh.injector.tls");

  private final Path dir;
  private final Clock clock;
  private final AtomicLong reloads = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private volatile Loaded loaded;
  private String lastSeen;

  private record Loaded(SslContext context, X509Certificate leaf) {}

  private ServerTls(Path dir, Clock clock, TlsFiles.Material material) throws SSLException {
    this.dir = dir;
    this.clock = clock;
    this.loaded = new Loaded(context(material), material.leaf());
    this.lastSeen = material.sha256();
  }

  /**
   * Reads {@code dir} once; {@code clock} decides whether a certificate is current.
   *
   * @throws IOException when the files cannot be read
   * @throws IllegalArgumentException when they are not a usable certificate and key, naming the
   *     file and the problem
   */
  public static ServerTls load(Path dir, Clock clock) throws IOException {
    Objects.requireNonNull(dir, "dir");
    Objects.requireNonNull(clock, "clock");
    TlsFiles.Material material = TlsFiles.parse(TlsFiles.read(dir), dir, clock.instant());
    ServerTls tls = new ServerTls(dir, clock, material);
    LOG.log(Level.INFO, "TLS: serving " + describe(material.leaf()) + " from " + dir);
    return tls;
  }

  /** The context for a new connection. */
  public SslContext current() {
    return loaded.context;
  }

  /** The leaf certificate in force. */
  public X509Certificate certificate() {
    return loaded.leaf;
  }

  /** How many times new files were taken into use since the start. */
  public long reloads() {
    return reloads.get();
  }

  /** How many new contents were refused (the last good context stayed). */
  public long failures() {
    return failures.get();
  }

  /**
   * Reads the files again and, when their content changed and is good, takes it into use.
   *
   * @return whether a new certificate is now in force
   */
  public synchronized boolean poll() {
    TlsFiles.Snapshot files;
    try {
      files = TlsFiles.read(dir);
    } catch (IOException e) {
      if (!"unreadable".equals(lastSeen)) {
        LOG.log(Level.WARNING, "TLS: " + e.getMessage() + "; keeping " + describe(loaded.leaf));
        failures.incrementAndGet();
      }
      lastSeen = "unreadable";
      return false;
    }
    if (files.sha256().equals(lastSeen)) {
      return false;
    }
    lastSeen = files.sha256();
    try {
      TlsFiles.Material material = TlsFiles.parse(files, dir, clock.instant());
      loaded = new Loaded(context(material), material.leaf());
    } catch (IllegalArgumentException | SSLException e) {
      failures.incrementAndGet();
      LOG.log(Level.WARNING, "TLS: " + e.getMessage() + "; keeping " + describe(loaded.leaf));
      return false;
    }
    reloads.incrementAndGet();
    LOG.log(Level.INFO, "TLS: now serving " + describe(loaded.leaf) + " from " + dir);
    return true;
  }

  /**
   * Calls {@link #poll} every {@code interval} on {@code scheduler} (a single thread, so polls
   * never overlap), first one interval from now. A poll that throws is logged; the next runs.
   */
  public ScheduledFuture<?> pollEvery(ScheduledExecutorService scheduler, Duration interval) {
    if (interval.isZero() || interval.isNegative()) {
      throw new IllegalArgumentException("TLS poll interval: " + interval + " (expected: > 0)");
    }
    long millis = interval.toMillis();
    return scheduler.scheduleWithFixedDelay(
        () -> {
          try {
            poll();
          } catch (RuntimeException e) {
            // A periodic task that throws is never run again: the certificate would go stale.
            LOG.log(Level.WARNING, "TLS: poll of " + dir + " failed", e);
          }
        },
        millis,
        millis,
        TimeUnit.MILLISECONDS);
  }

  private static SslContext context(TlsFiles.Material material) throws SSLException {
    // The JDK's TLS: ALPN needs no native library on JDK 9+, and the API server sends a handful
    // of requests per second at most.
    return SslContextBuilder.forServer(material.key(), material.chain())
        .sslProvider(SslProvider.JDK)
        .protocols("TLSv1.3", "TLSv1.2")
        .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
        .applicationProtocolConfig(
            new ApplicationProtocolConfig(
                ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                ApplicationProtocolNames.HTTP_2,
                ApplicationProtocolNames.HTTP_1_1))
        .build();
  }

  private static String describe(X509Certificate leaf) {
    return "certificate "
        + leaf.getSubjectX500Principal().getName()
        + " (serial "
        + leaf.getSerialNumber().toString(16)
        + ", valid until "
        + leaf.getNotAfter().toInstant()
        + ")";
  }
}
