package io.jmesh.injector;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.jmesh.injector.server.InformerNamespaces;
import io.jmesh.injector.server.NamespaceLookup;
import io.jmesh.injector.server.ServerTls;
import io.jmesh.injector.server.WebhookServer;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The command line of {@code jmesh-injector.jar}: serves the webhook ({@link WebhookServer}) with
 * the certificate of {@code --tls-dir}, checked for changes every {@code --tls-poll}, and the
 * namespaces' labels from the Kubernetes API, until the JVM is asked to stop (SIGTERM), when a
 * shutdown hook lets admissions in progress finish. Exit codes: 1 when it cannot start (no
 * usable certificate, an address in use), 2 for a bad command line; after a signal, the JVM's
 * code for it (143 for SIGTERM).
 */
@Command(
    name = "jmesh-injector",
    mixinStandardHelpOptions = true,
    versionProvider = InjectorMain.Version.class,
    description = {
      "The jmesh mutating admission webhook: attaches the jmesh agent to the pods of opted-in"
          + " namespaces and pods (injector-webhook/README.md). HTTPS on --address: POST <path>"
          + " (AdmissionReview v1), GET /ready, GET /metrics."
    },
    sortOptions = false)
public final class InjectorMain implements Callable<Integer> {
  private static final Logger LOG = System.getLogger("io.jmesh.injector");

  @Spec CommandSpec spec;

  @Option(
      names = "--address",
      paramLabel = "<host:port>",
      defaultValue = "0.0.0.0:8443",
      description = "Where the HTTPS server listens (port 0: ephemeral). Default: ${DEFAULT-VALUE}.")
  String address;

  @Option(
      names = "--path",
      paramLabel = "<path>",
      defaultValue = "/inject",
      description = "The admission path, as in the webhook's clientConfig. Default: ${DEFAULT-VALUE}.")
  String path;

  @Option(
      names = "--tls-dir",
      paramLabel = "<dir>",
      defaultValue = "/var/run/jmesh/injector-tls",
      description =
          "The mounted Secret jmesh-injector-tls: tls.crt, tls.key, and ca.crt (optional; when"
              + " present tls.crt must chain to it). Default: ${DEFAULT-VALUE}.")
  Path tlsDir;

  @Option(
      names = "--tls-poll",
      paramLabel = "<duration>",
      defaultValue = "10s",
      converter = DurationConverter.class,
      description = "How often --tls-dir is checked for a new certificate. Default: ${DEFAULT-VALUE}.")
  Duration tlsPoll;

  @Option(
      names = "--agent-image",
      required = true,
      paramLabel = "<image>",
      description = "Required. The image that holds the agent jar.")
  String agentImage;

  @Option(
      names = "--agent-jar-in-image",
      paramLabel = "<path>",
      defaultValue = "/jmesh/jmesh-agent.jar",
      description = "Where the jar is in that image. Default: ${DEFAULT-VALUE}.")
  String agentJarInImage;

  @Option(
      names = "--agent-source",
      paramLabel = "<source>",
      defaultValue = "INIT_CONTAINER",
      description =
          "INIT_CONTAINER (an init container copies the jar) or IMAGE_VOLUME (Kubernetes 1.33+)."
              + " Default: ${DEFAULT-VALUE}.")
  InjectorSettings.AgentSource agentSource;

  @Option(
      names = "--controller-address",
      paramLabel = "<host:port>",
      defaultValue = "jmesh-controller.jmesh-system.svc:18000",
      description = "JMESH_CONTROLLER of injected containers. Default: ${DEFAULT-VALUE}.")
  String controllerAddress;

  @Option(
      names = "--trust-domain",
      paramLabel = "<domain>",
      defaultValue = "cluster.local",
      description = "JMESH_TRUST_DOMAIN: the controller's --trust-domain. Default: ${DEFAULT-VALUE}.")
  String trustDomain;

  @Option(
      names = "--token-expiration-seconds",
      paramLabel = "<seconds>",
      defaultValue = "3600",
      description = "The projected token's lifetime (600..86400). Default: ${DEFAULT-VALUE}.")
  long tokenExpirationSeconds;

  @Option(
      names = "--trust-anchors-configmap",
      paramLabel = "<name>",
      defaultValue = "jmesh-trust-anchors",
      description = "The trust anchors' ConfigMap in each pod's namespace. Default: ${DEFAULT-VALUE}.")
  String trustAnchorsConfigMap;

  @Option(
      names = "--init-run-as-user",
      paramLabel = "<uid>",
      defaultValue = "65532",
      description = "UID and GID of the copy init container (not 0). Default: ${DEFAULT-VALUE}.")
  long initRunAsUser;

  @Option(
      names = "--max-body-bytes",
      paramLabel = "<bytes>",
      defaultValue = "6291456",
      description = "The largest request body; larger gets 413. Default: ${DEFAULT-VALUE} (6 MiB).")
  int maxBodyBytes;

  @Option(
      names = "--read-timeout",
      paramLabel = "<duration>",
      defaultValue = "10s",
      converter = DurationConverter.class,
      description =
          "From a request's first byte to its answer (and the TLS handshake's bound). Default:"
              + " ${DEFAULT-VALUE}.")
  Duration readTimeout;

  @Option(
      names = "--idle-timeout",
      paramLabel = "<duration>",
      defaultValue = "120s",
      converter = DurationConverter.class,
      description = "A connection idle this long is closed. Default: ${DEFAULT-VALUE}.")
  Duration idleTimeout;

  @Option(
      names = "--max-connections",
      paramLabel = "<n>",
      defaultValue = "512",
      description = "Open connections at once; more are closed at accept. Default: ${DEFAULT-VALUE}.")
  int maxConnections;

  @Option(
      names = "--no-kubernetes",
      description =
          "Do not read namespaces from the Kubernetes API: only a pod's own jmesh.io/inject opts"
              + " it in. For tests and demos without a cluster.")
  boolean noKubernetes;

  public static void main(String[] args) {
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty(
          "java.util.logging.SimpleFormatter.format",
          "%1$tFT%1$tT.%1$tLZ %4$s %3$s: %5$s%6$s%n");
    }
    System.exit(new CommandLine(new InjectorMain()).execute(args));
  }

  @Override
  public Integer call() throws InterruptedException {
    InjectorSettings settings;
    WebhookServer.Options options;
    try {
      settings =
          new InjectorSettings(
              version(),
              agentImage,
              agentJarInImage,
              agentSource,
              controllerAddress,
              trustDomain,
              tokenExpirationSeconds,
              trustAnchorsConfigMap,
              initRunAsUser);
      int colon = address.lastIndexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException(
            "--address: \"" + address + "\" (expected: host:port, for example 0.0.0.0:8443)");
      }
      String host = address.substring(0, colon).replaceAll("^\\[(.*)]$", "$1");
      int port;
      try {
        port = Integer.parseInt(address.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "--address: \"" + address + "\" (expected: host:port, for example 0.0.0.0:8443)");
      }
      options =
          WebhookServer.Options.defaults()
              .withAddress(host, port)
              .withPath(path)
              .withLimits(maxBodyBytes, readTimeout, idleTimeout, maxConnections);
      if (tlsPoll.isZero() || tlsPoll.isNegative()) {
        throw new IllegalArgumentException("--tls-poll: " + tlsPoll + " (expected: > 0)");
      }
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    ServerTls tls;
    try {
      tls = ServerTls.load(tlsDir, Clock.systemUTC());
    } catch (IOException | IllegalArgumentException e) {
      spec.commandLine().getErr().println("jmesh-injector: " + e.getMessage());
      return 1;
    }
    KubernetesClient client = null;
    NamespaceLookup namespaces = NamespaceLookup.NONE;
    if (!noKubernetes) {
      // A short timeout: a namespace read on a cache miss must end within the API server's
      // webhook timeout (10 s by default).
      Config config = new ConfigBuilder(Config.autoConfigure(null)).withRequestTimeout(3000).build();
      client = new KubernetesClientBuilder().withConfig(config).build();
      namespaces = InformerNamespaces.start(client);
    }
    WebhookServer server;
    try {
      server =
          WebhookServer.start(options, tls, namespaces, new PodAdmission(new PodInjector(settings)));
    } catch (IOException e) {
      spec.commandLine().getErr().println("jmesh-injector: " + e.getMessage());
      closeQuietly(namespaces, client);
      return 1;
    }
    ScheduledExecutorService poller =
        Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("jmesh-injector-tls", true));
    tls.pollEvery(poller, tlsPoll);
    CountDownLatch stopped = new CountDownLatch(1);
    KubernetesClient ownedClient = client;
    NamespaceLookup ownedNamespaces = namespaces;
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  // stderr, not the logger: java.util.logging resets its handlers in a shutdown
                  // hook of its own, which may run first.
                  System.err.println(
                      "jmesh injector: stopping; admissions in progress finish (up to 5 s)");
                  poller.shutdownNow();
                  server.close();
                  closeQuietly(ownedNamespaces, ownedClient);
                  stopped.countDown();
                },
                "jmesh-injector-shutdown"));
    stopped.await();
    return 0;
  }

  private static void closeQuietly(NamespaceLookup namespaces, KubernetesClient client) {
    if (namespaces instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        LOG.log(Level.DEBUG, "closing the namespace informer", e);
      }
    }
    if (client != null) {
      client.close();
    }
  }

  static String version() {
    String version = InjectorMain.class.getPackage().getImplementationVersion();
    return version == null ? "development" : version;
  }

  /** The version from the jar manifest, when run from the packaged jar. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"jmesh-injector " + version()};
    }
  }

  /** {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}. */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      var m = java.util.regex.Pattern.compile("(\\d{1,9})(ms|s|m|h)").matcher(value);
      if (!m.matches()) {
        throw new CommandLine.TypeConversionException(
            "\"" + value + "\" (expected: a number and a unit: 500ms, 10s, 2m, 1h)");
      }
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        default -> Duration.ofHours(n);
      };
    }
  }
}
