package io.jmesh.controller;

import io.grpc.ServerServiceDefinition;
import io.jmesh.controller.ca.BootstrapTokens;
import io.jmesh.controller.ca.CaService;
import io.jmesh.controller.ca.CertificateAuthority;
import io.jmesh.controller.ca.ServedCa;
import io.jmesh.controller.ca.ServingCertificate;
import io.jmesh.controller.source.CompositeMeshSource;
import io.jmesh.controller.source.FileMeshSource;
import io.jmesh.controller.source.MeshSource;
import io.jmesh.controller.source.MeshViews;
import io.jmesh.controller.source.OverridesFile;
import io.jmesh.controller.xds.AgentStatus;
import io.jmesh.controller.xds.XdsOverrides;
import io.jmesh.controller.xds.XdsResources;
import io.jmesh.controller.xds.ServingTls;
import io.jmesh.controller.xds.XdsServer;
import io.jmesh.controller.xds.XdsTranslator;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.identity.SpiffeId;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The jmesh controller process, in a form that can also run inside another JVM (tests,
 * benchmarks): a {@link MeshSource} (the watched YAML file), the {@link SnapshotPublisher} that
 * translates each of its snapshots into xDS ({@link XdsTranslator}), the {@link XdsServer} that
 * serves it to every agent, and the admin HTTP server ({@code /ready}, {@code /live}, {@code /metrics}, {@code
 * /snapshot}, {@code /agents}, {@code /ca}; see {@code controller/README.md}), and, with {@link
 * Options#caDir()}, the certificate authority's gRPC service on the xDS port.
 *
 * <p>Start-up order: the xDS server listens first, then the admin server, then the source is
 * read. A missing or bad file at start is not fatal: the controller runs, {@code /ready} answers
 * 503 with the reason, and the first good version of the file is served as soon as it appears.
 * Afterwards a bad edit keeps the last good snapshot in force.
 *
 * <p>This class starts, composes and closes the parts; {@link Options} holds its settings.
 *
 * <p>Thread-safety: all methods may be called from any thread. Snapshots are translated and set
 * on the source's thread, one at a time.
 */
public final class Controller implements AutoCloseable {
  private static final Logger LOG = System.getLogger("io.jmesh.controller");

  private final Options options;
  private final MeshSource source;
  private final ScheduledExecutorService ownedScheduler; // null when the caller owns the source's
  private final Clock clock;
  private final PrometheusMeterRegistry registry;
  private final CountDownLatch closedLatch = new CountDownLatch(1);

  private XdsServer xds;
  private CertificateAuthority ca; // null without Options.caDir
  private ServingCertificate serving; // null with --insecure-plaintext
  private Path trustAnchorsFile; // null without a CA directory
  private String anchorsPublishedAt; // the file or the ConfigMap; null without a CA
  private ScheduledExecutorService tlsScheduler; // renews the serving certificate; null without
  private AdminServer admin;
  private SnapshotPublisher publisher; // set once the xDS server listens
  private volatile OverridesFile overrides; // null without Options.overrides
  private ScheduledExecutorService overridesScheduler; // owned; null unless overrides need one
  private volatile boolean closed;

  /**
   * The controller's settings. Immutable; start from {@link #defaults(Path)} and change what
   * differs with the {@code with*} methods.
   *
   * @param config the YAML file to watch (format: {@code mesh-runtime/README.md}); null for none,
   *     when another source is given to {@link Controller#start(Options, MeshSource)}
   * @param xdsHost the address the xDS (gRPC) server binds
   * @param xdsPort its port; 0 for an ephemeral one ({@link Controller#xdsPort()} tells which)
   * @param adminHost the address the admin HTTP server binds
   * @param adminPort its port; 0 for an ephemeral one ({@link Controller#adminPort()})
   * @param namespace the namespace of services in the file that do not name one
   * @param clusterDomain the cluster domain in listener names ({@code
   *     hello.default.svc.<clusterDomain>:8080})
   * @param pollMillis how often the file is checked for changes, in milliseconds
   * @param overrides raw xDS resources that replace the translation's; null for none
   * @param caDir the certificate authority's directory; null for no CA (the certificate service
   *     is then not served)
   * @param trustDomain the trust domain of the identities the CA signs
   * @param maxLeafLifetime the longest leaf lifetime the CA signs
   * @param tls TLS of the xDS port: on by default, which needs {@code caDir}
   */
  public record Options(
      Path config,
      String xdsHost,
      int xdsPort,
      String adminHost,
      int adminPort,
      String namespace,
      String clusterDomain,
      long pollMillis,
      Path overrides,
      Path caDir,
      String trustDomain,
      Duration maxLeafLifetime,
      Tls tls) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_XDS_PORT = 18000;
    public static final int DEFAULT_ADMIN_PORT = 18001;

    public Options {
      Objects.requireNonNull(xdsHost, "xdsHost");
      Objects.requireNonNull(adminHost, "adminHost");
      Objects.requireNonNull(namespace, "namespace");
      Objects.requireNonNull(clusterDomain, "clusterDomain");
      checkPort("xdsPort", xdsPort);
      checkPort("adminPort", adminPort);
      if (namespace.isEmpty()) {
        throw new IllegalArgumentException("namespace: \"\" (expected: a DNS label)");
      }
      if (clusterDomain.isEmpty()) {
        throw new IllegalArgumentException(
            "clusterDomain: \"\" (expected: a domain such as cluster.local)");
      }
      if (pollMillis <= 0) {
        throw new IllegalArgumentException("pollMillis: " + pollMillis + " (expected: > 0)");
      }
      Objects.requireNonNull(trustDomain, "trustDomain");
      Objects.requireNonNull(maxLeafLifetime, "maxLeafLifetime");
      Objects.requireNonNull(tls, "tls");
      try {
        SpiffeId.of(trustDomain, "ns", "sa");
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("trustDomain: " + e.getMessage(), e);
      }
      if (maxLeafLifetime.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException(
            "maxLeafLifetime: " + maxLeafLifetime + " (expected: at least 1 second)");
      }
    }

    /**
     * xDS on 127.0.0.1:18000, admin on 127.0.0.1:18001, namespace {@code default}, cluster
     * domain {@code cluster.local}, file checked every 500 ms, no overrides, no CA (trust domain
     * {@code cluster.local} and leaves of at most 24 h once there is one).
     */
    public static Options defaults(Path config) {
      return new Options(
          config,
          DEFAULT_HOST,
          DEFAULT_XDS_PORT,
          DEFAULT_HOST,
          DEFAULT_ADMIN_PORT,
          "default",
          "cluster.local",
          500,
          null,
          null,
          "cluster.local",
          CertificateAuthority.DEFAULT_MAX_LEAF_LIFETIME,
          Tls.DEFAULT);
    }

    public Options withXdsAddress(String host, int port) {
      return new Options(
          config, host, port, adminHost, adminPort, namespace, clusterDomain, pollMillis,
          overrides, caDir, trustDomain, maxLeafLifetime, tls);
    }

    public Options withAdminAddress(String host, int port) {
      return new Options(
          config, xdsHost, xdsPort, host, port, namespace, clusterDomain, pollMillis,
          overrides, caDir, trustDomain, maxLeafLifetime, tls);
    }

    public Options withNamespace(String namespace) {
      return new Options(
          config, xdsHost, xdsPort, adminHost, adminPort, namespace, clusterDomain, pollMillis,
          overrides, caDir, trustDomain, maxLeafLifetime, tls);
    }

    public Options withClusterDomain(String clusterDomain) {
      return new Options(
          config, xdsHost, xdsPort, adminHost, adminPort, namespace, clusterDomain, pollMillis,
          overrides, caDir, trustDomain, maxLeafLifetime, tls);
    }

    public Options withPollMillis(long pollMillis) {
      return new Options(
          config, xdsHost, xdsPort, adminHost, adminPort, namespace, clusterDomain, pollMillis,
          overrides, caDir, trustDomain, maxLeafLifetime, tls);
    }

    /** Raw xDS resources that replace the translation's (see XdsOverrides); null for none. */
    public Options withOverrides(Path overrides) {
      return new Options(
          config, xdsHost, xdsPort, adminHost, adminPort, namespace, clusterDomain, pollMillis,
          overrides, caDir, trustDomain, maxLeafLifetime, tls);
    }

    /** Serves a certificate authority from {@code caDir} (made there if empty); null for none. */
    public Options withCaDir(Path caDir) {
      return new Options(
          config, xdsHost, xdsPort, adminHost, adminPort, namespace, clusterDomain, pollMillis,
          overrides, caDir, trustDomain, maxLeafLifetime, tls);
    }

    public Options withTrustDomain(String trustDomain) {
      return new Options(
          config, xdsHost, xdsPort, adminHost, adminPort, namespace, clusterDomain, pollMillis,
          overrides, caDir, trustDomain, maxLeafLifetime, tls);
    }

    public Options withMaxLeafLifetime(Duration maxLeafLifetime) {
      return new Options(
          config, xdsHost, xdsPort, adminHost, adminPort, namespace, clusterDomain, pollMillis,
          overrides, caDir, trustDomain, maxLeafLifetime, tls);
    }

    /**
     * Serve the xDS port in plaintext ({@code --insecure-plaintext}): anyone on the path can then
     * read and rewrite what agents are told. For local demos and tests only.
     */
    public Options withInsecurePlaintext(boolean insecurePlaintext) {
      return withTls(new Tls(insecurePlaintext, tls.serviceName(), tls.sans()));
    }

    /** The DNS name of the controller's service in its serving certificate; null: the default. */
    public Options withTlsServiceName(String serviceName) {
      return withTls(new Tls(tls.insecurePlaintext(), serviceName, tls.sans()));
    }

    /** More names (DNS names, IP literals) in the serving certificate ({@code --tls-san}). */
    public Options withTlsSans(List<String> sans) {
      return withTls(new Tls(tls.insecurePlaintext(), tls.serviceName(), sans));
    }

    private Options withTls(Tls tls) {
      return new Options(
          config, xdsHost, xdsPort, adminHost, adminPort, namespace, clusterDomain, pollMillis,
          overrides, caDir, trustDomain, maxLeafLifetime, tls);
    }

    /**
     * The names of the serving certificate, in order and each once: the service name (default
     * {@code jmesh-controller.<namespace>.svc}), {@code localhost}, the xDS bind host unless it
     * is a wildcard ({@code 0.0.0.0}, {@code ::}), then the extra names.
     */
    public List<String> servingNames() {
      java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>();
      names.add(
          tls.serviceName() == null ? "jmesh-controller." + namespace + ".svc" : tls.serviceName());
      names.add("localhost");
      String host = xdsHost.startsWith("[") ? xdsHost.substring(1, xdsHost.length() - 1) : xdsHost;
      if (!host.isEmpty() && !host.equals("0.0.0.0") && !host.equals("::")) {
        names.add(host);
      }
      names.addAll(tls.sans());
      return List.copyOf(names);
    }

    private static void checkPort(String name, int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException(name + ": " + port + " (expected: 0..65535)");
      }
    }
  }

  /**
   * TLS of the xDS port (controller README, "TLS on the xDS port").
   *
   * @param insecurePlaintext serve plaintext instead (logged as a warning at start)
   * @param serviceName the DNS name agents dial in the serving certificate; null for {@code
   *     jmesh-controller.<namespace>.svc}
   * @param sans more names in the serving certificate: DNS names or IP literals
   */
  public record Tls(boolean insecurePlaintext, String serviceName, List<String> sans) {
    /** TLS on, default service name, no extra names. */
    public static final Tls DEFAULT = new Tls(false, null, List.of());

    public Tls {
      sans = List.copyOf(sans);
      if (serviceName != null && serviceName.isBlank()) {
        throw new IllegalArgumentException(
            "serviceName: \"" + serviceName + "\" (expected: a DNS name, or null for the default)");
      }
      for (String san : sans) {
        if (san.isBlank() || san.indexOf(' ') >= 0) {
          throw new IllegalArgumentException(
              "tls san: \"" + san + "\" (expected: a DNS name or an IP address)");
        }
      }
    }
  }

  private Controller(
      Options options,
      MeshSource source,
      ScheduledExecutorService ownedScheduler,
      Clock clock) {
    this.options = options;
    this.source = source;
    this.ownedScheduler = ownedScheduler;
    this.clock = clock;
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Gauge.builder(
            "jmesh.controller.source.error", this, c -> c.source.lastError().isPresent() ? 1 : 0)
        .description(
            "1 while the source's last look failed (a bad edit); the last good snapshot stays in"
                + " force")
        .register(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    source.bindTo(registry); // the Kubernetes source's gauge of pods without the agent
  }

  /**
   * Starts a controller on the file {@code options.config()}: listens for xDS and admin
   * requests, reads the file and serves its first good version, then polls it.
   *
   * @throws IOException if an address cannot be bound; nothing is left running then
   */
  public static Controller start(Options options) throws IOException {
    return start(options, null);
  }

  /**
   * Starts a controller on the file {@code options.config()} (none when null) and, beside it,
   * {@code alongside} (for example Kubernetes; none when null), served as one ({@link
   * CompositeMeshSource}). The controller closes {@code alongside} when it closes.
   *
   * @throws IllegalArgumentException if there is neither a file nor another source
   * @throws IOException if an address cannot be bound; nothing is left running then
   */
  public static Controller start(Options options, MeshSource alongside) throws IOException {
    return start(options, alongside, (ServedCa) null);
  }

  /**
   * As {@link #start(Options, MeshSource)}, with a CA made elsewhere ({@code servedCa}, for
   * example from a Kubernetes Secret with TokenReview authentication) instead of {@link
   * Options#caDir()}; null for the directory's, or none.
   *
   * @throws IllegalArgumentException if both {@code servedCa} and a CA directory are given
   */
  public static Controller start(Options options, MeshSource alongside, ServedCa servedCa)
      throws IOException {
    Objects.requireNonNull(options, "options");
    if (servedCa != null && options.caDir() != null) {
      throw new IllegalArgumentException(
          "caDir: " + options.caDir() + " and a CA from " + servedCa.ca().location()
              + " (expected: one CA)");
    }
    if (options.config() == null && alongside == null) {
      throw new IllegalArgumentException(
          "config: null and no other source (expected: a file, another source, or both)");
    }
    ScheduledExecutorService scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "jmesh-controller-source");
              t.setDaemon(true);
              return t;
            });
    MeshSource source = alongside;
    if (options.config() != null) {
      MeshSource file =
          new FileMeshSource(
              options.config(), options.namespace(), scheduler, options.pollMillis());
      source = alongside == null ? file : new CompositeMeshSource(List.of(file, alongside));
    }
    String clusterDomain = options.clusterDomain();
    return start(
        options,
        source,
        // Unchanged Services keep their resources: only what a push changed is translated.
        new XdsTranslator.Memo(clusterDomain)::translate,
        scheduler,
        Clock.systemUTC(),
        servedCa);
  }

  /**
   * Starts a controller on any source and translation; for tests, and for sources other than a
   * file. {@code options.config()} and {@code pollMillis()} are not used. The controller closes
   * {@code source} when it closes.
   */
  static Controller start(
      Options options, MeshSource source, Function<MeshSnapshot, XdsResources> translator)
      throws IOException {
    return start(options, source, translator, null, Clock.systemUTC(), null);
  }

  private static Controller start(
      Options options,
      MeshSource source,
      Function<MeshSnapshot, XdsResources> translator,
      ScheduledExecutorService ownedScheduler,
      Clock clock,
      ServedCa servedCa)
      throws IOException {
    Controller controller =
        new Controller(
            Objects.requireNonNull(options, "options"),
            Objects.requireNonNull(source, "source"),
            ownedScheduler,
            clock);
    Objects.requireNonNull(translator, "translator");
    try {
      boolean tls = !options.tls().insecurePlaintext();
      if (tls && options.caDir() == null && servedCa == null) {
        throw new IllegalArgumentException(
            "TLS on the xDS port needs a CA directory (--ca-dir): the controller's CA issues its"
                + " serving certificate (expected: --ca-dir <dir>, or --insecure-plaintext to serve"
                + " plaintext for a local demo)");
      }
      List<ServerServiceDefinition> services = List.of();
      ServingTls servingTls = null;
      if (options.caDir() != null) {
        // Before anything listens: a CA directory that cannot be used stops the start, rather
        // than a controller that serves xDS but refuses every certificate.
        controller.ca =
            CertificateAuthority.loadOrCreate(
                options.caDir(), options.trustDomain(), options.maxLeafLifetime(), clock);
        BootstrapTokens tokens =
            BootstrapTokens.loadOrCreate(options.caDir(), options.trustDomain(), clock);
        services = List.of(new CaService(controller.ca, tokens, controller.registry).definition());
        controller.trustAnchorsFile = controller.ca.writeTrustAnchors();
        controller.anchorsPublishedAt = controller.trustAnchorsFile.toString();
      } else if (servedCa != null) {
        controller.ca = servedCa.ca();
        services =
            List.of(
                new CaService(controller.ca, servedCa.authenticator(), controller.registry)
                    .definition());
        controller.anchorsPublishedAt = servedCa.anchorsPublishedAt();
      }
      if (tls && controller.ca != null) {
        controller.serving = controller.ca.servingCertificate(options.servingNames());
        servingTls = ServingTls.of(controller.serving, controller.ca.anchors());
        controller.startRenewing();
      }
      controller.xds =
          XdsServer.start(
              options.xdsHost(), options.xdsPort(), controller.registry, services, servingTls);
      controller.publisher =
          new SnapshotPublisher(
              source.description(),
              translator,
              options.clusterDomain(),
              controller.xds,
              () -> {
                OverridesFile file = controller.overrides;
                return file == null ? XdsOverrides.NONE : file.current();
              },
              () -> controller.closed,
              clock,
              controller.registry);
      controller.admin =
          AdminServer.start(options.adminHost(), options.adminPort(), controller.new Model());
      // Said before the source is read, so that the log tells where before what.
      LOG.log(
          Level.INFO,
          "jmesh controller: xDS on "
              + new HostPort(options.xdsHost(), controller.xdsPort())
              + ", admin on http://"
              + new HostPort(options.adminHost(), controller.adminPort())
              + ", source "
              + source.description()
              + (controller.ca == null
                  ? ""
                  : ", certificate authority for trust domain "
                      + options.trustDomain()
                      + " from "
                      + controller.ca.location()));
      controller.logTls();
      if (options.overrides() != null) {
        ScheduledExecutorService scheduler = ownedScheduler;
        if (scheduler == null) {
          scheduler =
              Executors.newSingleThreadScheduledExecutor(
                  r -> {
                    Thread t = new Thread(r, "jmesh-controller-overrides");
                    t.setDaemon(true);
                    return t;
                  });
          controller.overridesScheduler = scheduler;
        }
        controller.overrides =
            new OverridesFile(
                options.overrides(),
                o -> controller.publisher.republish());
        // Read before the source, so that the first version served already has them.
        controller.overrides.start(scheduler, options.pollMillis());
      }
      SnapshotPublisher publisher = controller.publisher;
      source.start(
          new MeshSource.Listener() {
            @Override
            public void onSnapshot(MeshSnapshot snapshot) {
              publisher.publish(snapshot);
            }

            @Override
            public void onSnapshot(MeshSnapshot snapshot, MeshViews views) {
              publisher.publish(snapshot, views);
            }
          });
    } catch (IOException | RuntimeException e) {
      controller.close();
      throw e;
    }
    return controller;
  }

  /** Checks the serving certificate every minute; a renewal at 2/3 of its life needs no restart. */
  private void startRenewing() {
    tlsScheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "jmesh-controller-tls");
              t.setDaemon(true);
              return t;
            });
    tlsScheduler.scheduleWithFixedDelay(
        () -> {
          try {
            serving.renewIfDue();
          } catch (RuntimeException e) {
            // The current certificate stays in use; the next check tries again.
            LOG.log(Level.WARNING, "TLS: cannot renew the controller's serving certificate: " + e);
          }
        },
        1,
        1,
        TimeUnit.MINUTES);
  }

  private void logTls() {
    String xdsAddress = new HostPort(options.xdsHost(), xdsPort()).toString();
    if (serving == null) {
      LOG.log(
          Level.WARNING,
          "INSECURE: the xDS port "
              + xdsAddress
              + " serves PLAINTEXT (--insecure-plaintext): anyone on the path to the controller can"
              + " read and rewrite every agent's routes and endpoints, read bootstrap tokens, and"
              + " swap the trust anchors the CA hands out to impersonate every service. For local"
              + " demos only.");
      return;
    }
    LOG.log(
        Level.INFO,
        "TLS on the xDS port "
            + xdsAddress
            + ": serving certificate for "
            + String.join(", ", serving.names())
            + " from the CA, valid until "
            + serving.certificate().getNotAfter().toInstant()
            + ", renewed at 2/3 of its life; agents verify it with the trust anchors in "
            + anchorsPublishedAt
            + " (hand it to them out of band: JMESH_TRUST_ANCHORS_FILE)");
  }

  /** The serving certificate of the xDS port; empty with {@code --insecure-plaintext}. */
  public Optional<ServingCertificate> servingCertificate() {
    return Optional.ofNullable(serving);
  }

  /** {@code <ca-dir>/trust-anchors.pem}, the anchors agents verify the port with; empty without a CA. */
  public Optional<Path> trustAnchorsFile() {
    return Optional.ofNullable(trustAnchorsFile);
  }

  /** The port of the xDS (gRPC) server. */
  public int xdsPort() {
    return xds.port();
  }

  /** The port of the admin HTTP server. */
  public int adminPort() {
    return admin.port();
  }

  /** The options this controller was started with. */
  public Options options() {
    return options;
  }

  /** Blocks until {@link #close} has run, from any thread. */
  void awaitClosed() throws InterruptedException {
    closedLatch.await();
  }

  /** Stops watching, then closes the admin and xDS servers (agents are disconnected). Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      source.close();
      if (overrides != null) {
        overrides.close();
      }
      if (overridesScheduler != null) {
        overridesScheduler.shutdownNow();
      }
      if (ownedScheduler != null) {
        ownedScheduler.shutdownNow();
      }
      if (admin != null) {
        admin.close();
      }
      if (xds != null) {
        xds.close();
      }
      if (tlsScheduler != null) {
        tlsScheduler.shutdownNow();
      }
      registry.close();
    } finally {
      closedLatch.countDown();
    }
  }

  /** The admin API's view of this controller. */
  private final class Model implements AdminModel {
    @Override
    public Optional<String> notReadyReason() {
      if (closed) {
        return Optional.of("the controller is shutting down");
      }
      if (!xds.isListening()) {
        return Optional.of("the xDS server is not listening");
      }
      if (xds.version().isEmpty()) {
        String why;
        String translation = publisher.translationError();
        Optional<String> sourceError = source.lastError();
        if (translation != null) {
          why = "translation to xDS failed: " + translation;
        } else if (sourceError.isPresent()) {
          why = sourceError.get();
        } else {
          why = "waiting for " + source.description();
        }
        return Optional.of("no snapshot in the xDS cache yet: " + why);
      }
      return Optional.empty();
    }

    @Override
    public SnapshotStatus snapshot() {
      SnapshotPublisher.Applied a = publisher.applied();
      return new SnapshotStatus(
          source.description(),
          a == null ? null : a.snapshot(),
          a == null ? null : a.at(),
          source.current().map(MeshSnapshot::version).orElse(null),
          source.lastError().orElse(null),
          publisher.translationError(),
          xds.version().orElse(null),
          overrides == null ? null : overrides.description(),
          overrides == null ? null : overrides.lastError().orElse(null));
    }

    @Override
    public List<AgentStatus> agents() {
      return xds.agents();
    }

    @Override
    public CertificateAuthority ca() {
      return ca;
    }

    @Override
    public String scrape() {
      return registry.scrape();
    }
  }
}
