package io.jmesh.controller;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.jmesh.controller.ca.BootstrapTokens;
import io.jmesh.controller.ca.ServedCa;
import io.jmesh.controller.kubernetes.CaSecret;
import io.jmesh.controller.kubernetes.InjectorTls;
import io.jmesh.controller.kubernetes.KubernetesCa;
import io.jmesh.controller.kubernetes.KubernetesMeshSource;
import io.jmesh.controller.kubernetes.StatusLeader;
import io.jmesh.controller.kubernetes.StartupAccessCheck;
import io.jmesh.controller.kubernetes.TrustAnchorCopies;
import io.jmesh.runtime.config.Durations;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The command line of {@code jmesh-controller.jar}: starts a {@link Controller} on a watched YAML
 * file and runs until the JVM is asked to stop (SIGTERM, Ctrl-C), when a shutdown hook closes it.
 * Exit codes: 1 when the controller cannot start (an address in use), 2 for a bad command line or
 * a missing Kubernetes permission (--ca-secret);
 * after a signal, the JVM's usual code for it (143 for SIGTERM). The subcommand {@code token}
 * prints a bootstrap token of the certificate authority ({@link Token}).
 */
@Command(
    name = "jmesh-controller",
    mixinStandardHelpOptions = true,
    versionProvider = ControllerMain.Version.class,
    description = {
      "Serves xDS (aggregated discovery, state of the world) to jmesh agents from a watched YAML"
          + " file, with an admin HTTP server: /ready, /live, /metrics, /snapshot, /agents, /ca."
          + " With --ca-dir, also a certificate authority on the xDS port."
    },
    subcommands = ControllerMain.Token.class,
    sortOptions = false)
public final class ControllerMain implements Callable<Integer> {
  private static final Logger LOG = System.getLogger("io.jmesh.controller");

  @Spec CommandSpec spec;

  // Required, but checked in call(): picocli would also ask for it before `token`.
  @Option(
      names = "--config",
      paramLabel = "<yaml>",
      description = "Required. The mesh YAML file to watch (format: mesh-runtime/README.md).")
  Path config;

  @Option(
      names = "--kubernetes",
      description =
          "Also read the mesh from the Kubernetes API (Services, EndpointSlices, Pods, Gateway API"
              + " routes; controller/README.md, Kubernetes), with the in-cluster config or the"
              + " default kube config. With --config, both are served as one.")
  boolean kubernetes;

  @Option(
      names = "--xds-address",
      paramLabel = "<host:port>",
      defaultValue = "127.0.0.1:18000",
      description =
          "Where the xDS gRPC server listens (port 0: ephemeral). Default: ${DEFAULT-VALUE}.")
  String xdsAddress;

  @Option(
      names = "--admin-address",
      paramLabel = "<host:port>",
      defaultValue = "127.0.0.1:18001",
      description =
          "Where the admin HTTP server listens (port 0: ephemeral). It has no authentication:"
              + " keep it on loopback or a private network. Default: ${DEFAULT-VALUE}.")
  String adminAddress;

  @Option(
      names = "--namespace",
      paramLabel = "<name>",
      defaultValue = "default",
      description = "Namespace of services that do not name one. Default: ${DEFAULT-VALUE}.")
  String namespace;

  @Option(
      names = "--cluster-domain",
      paramLabel = "<domain>",
      defaultValue = "cluster.local",
      description = "Cluster domain in listener names (hello.default.svc.<domain>:8080)."
          + " Default: ${DEFAULT-VALUE}.")
  String clusterDomain;

  @Option(
      names = "--poll-ms",
      paramLabel = "<millis>",
      defaultValue = "500",
      description = "How often the file is checked for changes. Default: ${DEFAULT-VALUE}.")
  long pollMillis;

  @Option(
      names = "--overrides",
      paramLabel = "<json>",
      description =
          "Raw xDS resources that replace the translation's by type and name, watched like the"
              + " config file (format: controller/README.md, Overrides). Default: none.")
  Path overrides;

  @Option(
      names = "--ca-dir",
      paramLabel = "<dir>",
      description =
          "Serve a certificate authority from this directory (made, with a new anchor and issuer,"
              + " if empty or missing; format: controller/README.md, Certificate authority)."
              + " Default: none, no CA.")
  Path caDir;

  @Option(
      names = "--ca-secret",
      paramLabel = "<[namespace/]name>",
      description =
          "Serve a certificate authority whose keys live in this Kubernetes Secret (made, with a"
              + " new anchor and issuer, if absent; every replica then signs with it), publish its"
              + " trust anchors in the ConfigMap jmesh-trust-anchors, and authenticate workloads by"
              + " TokenReview of their projected service-account tokens (audience jmesh-ca)."
              + " Namespace: the controller's own by default. Not with --ca-dir. Default: none.")
  String caSecret;

  @Option(
      names = "--no-injector-tls",
      description =
          "With --ca-secret: do not write the injector webhook's certificate (Secret"
              + " jmesh-injector-tls) nor the caBundle of its MutatingWebhookConfiguration"
              + " (jmesh-injector); for installs that manage them otherwise. Default: written by"
              + " the replica holding the status Lease.")
  boolean noInjectorTls;

  @Option(
      names = "--trust-anchors-namespaces",
      paramLabel = "<all|injection-enabled|none>",
      defaultValue = "all",
      description =
          "With --kubernetes and a CA: where the replica holding the status Lease keeps a copy of"
              + " ConfigMap jmesh-trust-anchors for injected pods to mount. all: every namespace"
              + " but kube-system, kube-public, kube-node-lease and the controller's own;"
              + " injection-enabled: namespaces labelled jmesh.io/inject=enabled only; none: no"
              + " copies. Default: ${DEFAULT-VALUE}.")
  String trustAnchorsNamespaces;

  @Option(
      names = "--trust-domain",
      paramLabel = "<domain>",
      defaultValue = "cluster.local",
      description =
          "Trust domain of the identities the CA signs (spiffe://<domain>/ns/../sa/..)."
              + " Default: ${DEFAULT-VALUE}.")
  String trustDomain;

  @Option(
      names = "--max-leaf-lifetime",
      paramLabel = "<duration>",
      defaultValue = "24h",
      description =
          "Longest lifetime of a certificate the CA signs, whatever is asked (24h, 30m, 90s)."
              + " Default: ${DEFAULT-VALUE}.")
  String maxLeafLifetime;

  @Option(
      names = "--insecure-plaintext",
      description =
          "Serve the xDS port (and the CA) in plaintext, without TLS: anyone on the path can read"
              + " and rewrite what agents are told. For local demos only; logged as a warning."
              + " Default: TLS, which needs --ca-dir.")
  boolean insecurePlaintext;

  @Option(
      names = "--tls-service-name",
      paramLabel = "<dns name>",
      description =
          "The controller's service name in its serving certificate. Default:"
              + " jmesh-controller.<namespace>.svc.")
  String tlsServiceName;

  @Option(
      names = "--tls-san",
      paramLabel = "<name or ip>",
      description =
          "One more DNS name or IP address in the serving certificate (repeatable): every address"
              + " agents dial the controller at. localhost and the xDS bind host (unless a wildcard)"
              + " are always in.")
  java.util.List<String> tlsSans = new java.util.ArrayList<>();

  public static void main(String[] args) {
    // One line per record, before anything initializes java.util.logging; -D... overrides it.
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty(
          "java.util.logging.SimpleFormatter.format",
          "%1$tFT%1$tT.%1$tLZ %4$s %3$s: %5$s%6$s%n");
    }
    int code = new CommandLine(new ControllerMain()).execute(args);
    System.exit(code);
  }

  @Override
  public Integer call() throws InterruptedException {
    if (config == null && !kubernetes) {
      throw new ParameterException(
          spec.commandLine(), "Missing required option: '--config=<yaml>' or '--kubernetes'");
    }
    Controller.Options options;
    TrustAnchorCopies.Scope anchorScope;
    try {
      anchorScope = TrustAnchorCopies.Scope.parse(trustAnchorsNamespaces);
      HostPort xds = HostPort.parse("--xds-address", xdsAddress);
      HostPort admin = HostPort.parse("--admin-address", adminAddress);
      options =
          Controller.Options.defaults(config)
              .withXdsAddress(xds.host(), xds.port())
              .withAdminAddress(admin.host(), admin.port())
              .withNamespace(namespace)
              .withClusterDomain(clusterDomain)
              .withPollMillis(pollMillis)
              .withOverrides(overrides)
              .withCaDir(caDir)
              .withTrustDomain(trustDomain)
              .withMaxLeafLifetime(Durations.parse("--max-leaf-lifetime", maxLeafLifetime))
              .withInsecurePlaintext(insecurePlaintext)
              .withTlsServiceName(tlsServiceName)
              .withTlsSans(tlsSans);
      if (caDir != null && caSecret != null) {
        throw new IllegalArgumentException(
            "--ca-dir and --ca-secret: both given (expected: one CA, a directory in file mode or a"
                + " Secret in Kubernetes)");
      }
      if (caSecret != null) {
        secretRef(caSecret, "default");
      } else if (caDir != null) {
        requireDirectoryOrAbsent(caDir);
      } else if (!insecurePlaintext) {
        throw new IllegalArgumentException(
            "--ca-dir: none (expected: a CA directory, or --ca-secret in Kubernetes, since the xDS"
                + " port serves TLS with a certificate from the controller's CA; or"
                + " --insecure-plaintext for a local demo without TLS)");
      }
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    Controller controller;
    TrustAnchorCopies anchorCopies = null;
    try {
      KubernetesClient client =
          kubernetes || caSecret != null ? new KubernetesClientBuilder().build() : null;
      ServedCa servedCa = null;
      // The status Lease lives in the controller's own namespace, like the CA's Secret. One
      // election per replica: its winner creates the CA's Secret and writes route statuses.
      String leaseNamespace =
          client == null || client.getNamespace() == null ? namespace : client.getNamespace();
      StatusLeader leader =
          client == null
              ? null
              : new StatusLeader(client, StatusLeader.Settings.defaults(leaseNamespace));
      if (caSecret != null) {
        // The controller's namespace: in a pod, the service account's; else the kube config's.
        String own = client.getNamespace() != null ? client.getNamespace() : namespace;
        String[] ref = secretRef(caSecret, own);
        try {
          servedCa =
              KubernetesCa.start(
                  client,
                  ref[0],
                  ref[1],
                  trustDomain,
                  Durations.parse("--max-leaf-lifetime", maxLeafLifetime),
                  Clock.systemUTC(),
                  leader,
                  CaSecret.Wait.DEFAULT);
        } catch (StartupAccessCheck.MissingPermissionException e) {
          // A configuration error, like a bad flag: nothing will work until RBAC is fixed.
          spec.commandLine().getErr().println("jmesh-controller: " + e.getMessage());
          leader.close();
          client.close();
          return 2;
        } catch (IOException e) {
          leader.close(); // give the Lease up at once, not after it expires
          client.close();
          throw e;
        }
      }
      InjectorTls injectorTls = null;
      if (caSecret != null && !noInjectorTls) {
        // The injector runs in the controller's namespace: its Service, Secret and the caBundle.
        String own = client.getNamespace() != null ? client.getNamespace() : namespace;
        injectorTls =
            new InjectorTls(client, own, servedCa.ca(), leader::isLeading, Clock.systemUTC())
                .start(leader);
      }
      if (!kubernetes && leader != null && injectorTls == null) {
        // --ca-secret alone: the CA needed the election only to create its Secret, which exists
        // now. Without a mesh source there are no statuses to write.
        leader.close();
      }
      InjectorTls injector = injectorTls;
      boolean closeLeader = !kubernetes && leader != null;
      if (injector != null) {
        Runtime.getRuntime()
            .addShutdownHook(
                new Thread(
                    () -> {
                      injector.close();
                      if (closeLeader) {
                        leader.close(); // the mesh source closes it in --kubernetes mode
                      }
                    },
                    "jmesh-controller-injector-tls-shutdown"));
      }
      controller =
          Controller.start(
              options,
              kubernetes ? KubernetesMeshSource.create(client, trustDomain, leader) : null,
              servedCa);
      if (kubernetes) {
        String own = client.getNamespace() != null ? client.getNamespace() : namespace;
        anchorCopies = startAnchorCopies(client, own, anchorScope, servedCa, controller, leader);
      }
    } catch (IOException e) {
      spec.commandLine().getErr().println("jmesh-controller: " + e.getMessage());
      return 1;
    }
    TrustAnchorCopies copies = anchorCopies;
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  LOG.log(Level.INFO, "jmesh controller: stopping");
                  if (copies != null) {
                    copies.close(); // before the mesh source closes the client
                  }
                  controller.close();
                },
                "jmesh-controller-shutdown"));
    controller.awaitClosed();
    return 0;
  }

  /**
   * Copies of the trust-anchor ConfigMap in workload namespaces, written by the Lease holder, with
   * the anchors of the CA in use (its Secret's, or {@code <ca-dir>/trust-anchors.pem}); null
   * without a CA ({@code --insecure-plaintext}): there is nothing to trust.
   */
  private static TrustAnchorCopies startAnchorCopies(
      KubernetesClient client,
      String own,
      TrustAnchorCopies.Scope scope,
      ServedCa servedCa,
      Controller controller,
      StatusLeader leader)
      throws IOException {
    String pem;
    if (servedCa != null) {
      pem = servedCa.ca().trustAnchorsPem();
    } else if (controller.trustAnchorsFile().isPresent()) {
      pem = Files.readString(controller.trustAnchorsFile().get());
    } else {
      return null;
    }
    return new TrustAnchorCopies(client, own, scope, () -> pem, leader::isLeading).start(leader);
  }

  /** {@code [namespace/]name} as {namespace, name}, the namespace {@code own} when not given. */
  static String[] secretRef(String value, String own) {
    String[] parts = value.split("/", -1);
    String dns = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
    boolean ok =
        parts.length == 1
            ? parts[0].matches(dns + "(\\." + dns + ")*")
            : parts.length == 2
                && parts[0].matches(dns)
                && parts[1].matches(dns + "(\\." + dns + ")*");
    if (!ok) {
      throw new IllegalArgumentException(
          "--ca-secret: \"" + value + "\" (expected: <name> or <namespace>/<name>, DNS names)");
    }
    return parts.length == 1 ? new String[] {own, parts[0]} : parts;
  }

  private static void requireDirectoryOrAbsent(Path dir) {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new IllegalArgumentException(
          "--ca-dir: "
              + dir
              + ": not a directory (expected: a directory for the CA's files, made if missing)");
    }
  }

  /**
   * {@code jmesh-controller token}: prints a bootstrap token for one namespace and service
   * account, keyed by the {@code bootstrap.key} of a CA directory that a controller has made.
   * Exit codes: 0 with the token on stdout, 1 when the key cannot be read, 2 for a bad command
   * line.
   */
  @Command(
      name = "token",
      mixinStandardHelpOptions = true,
      versionProvider = ControllerMain.Version.class,
      description = {
        "Prints a bootstrap token that proves spiffe://<trust domain>/ns/<namespace>/sa/<account>"
            + " to the controller's certificate authority (controller/README.md, Certificate"
            + " authority). Whoever holds it gets certificates for that identity until it expires."
      },
      sortOptions = false)
  static final class Token implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--ca-dir",
        required = true,
        paramLabel = "<dir>",
        description = "The CA directory of the controller (it holds bootstrap.key).")
    Path caDir;

    @Option(
        names = "--namespace",
        paramLabel = "<name>",
        defaultValue = "default",
        description = "The workload's namespace. Default: ${DEFAULT-VALUE}.")
    String namespace;

    @Option(
        names = "--service-account",
        required = true,
        paramLabel = "<name>",
        description = "The workload's service account.")
    String serviceAccount;

    @Option(
        names = "--ttl",
        paramLabel = "<duration>",
        defaultValue = "8760h",
        description =
            "How long the token is accepted (8760h, 30d, 90m). The agent presents it at every"
                + " renewal, so it must outlive the workload's deployment. Default:"
                + " ${DEFAULT-VALUE}.")
    String ttl;

    @Override
    public Integer call() {
      Duration lifetime;
      try {
        lifetime = Durations.parse("--ttl", ttl);
        if (Files.exists(caDir) && !Files.isDirectory(caDir)) {
          throw new IllegalArgumentException(
              "--ca-dir: " + caDir + ": not a directory (expected: a controller's CA directory)");
        }
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage(), e);
      }
      BootstrapTokens tokens;
      try {
        // The trust domain is not in the token: the controller that checks it adds its own.
        tokens = BootstrapTokens.load(caDir, "cluster.local", Clock.systemUTC());
      } catch (IOException e) {
        spec.commandLine().getErr().println("jmesh-controller token: " + e.getMessage());
        return 1;
      }
      String token;
      try {
        token = tokens.issue(namespace, serviceAccount, lifetime);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage(), e);
      }
      spec.commandLine().getOut().println(token);
      spec.commandLine().getOut().flush();
      return 0;
    }
  }

  /** The version from the jar manifest, when run from the packaged jar. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = ControllerMain.class.getPackage().getImplementationVersion();
      return new String[] {"jmesh-controller " + (version == null ? "(development)" : version)};
    }
  }
}
