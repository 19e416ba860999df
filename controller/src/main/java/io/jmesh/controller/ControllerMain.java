package io.jmesh.controller;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
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
 * Exit codes: 1 when the controller cannot start (an address in use), 2 for a bad command line;
 * after a signal, the JVM's usual code for it (143 for SIGTERM).
 */
@Command(
    name = "jmesh-controller",
    mixinStandardHelpOptions = true,
    versionProvider = ControllerMain.Version.class,
    description = {
      "Serves xDS (aggregated discovery, state of the world) to jmesh agents from a watched YAML"
          + " file, with an admin HTTP server: /ready, /live, /metrics, /snapshot, /agents."
    },
    sortOptions = false)
public final class ControllerMain implements Callable<Integer> {
  private static final Logger LOG = System.getLogger("io.jmesh.controller");

  @Spec CommandSpec spec;

  @Option(
      names = "--config",
      required = true,
      paramLabel = "<yaml>",
      description = "The mesh YAML file to watch (format: mesh-runtime/README.md).")
  Path config;

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
    Controller.Options options;
    try {
      HostPort xds = HostPort.parse("--xds-address", xdsAddress);
      HostPort admin = HostPort.parse("--admin-address", adminAddress);
      options =
          Controller.Options.defaults(config)
              .withXdsAddress(xds.host(), xds.port())
              .withAdminAddress(admin.host(), admin.port())
              .withNamespace(namespace)
              .withClusterDomain(clusterDomain)
              .withPollMillis(pollMillis)
              .withOverrides(overrides);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    Controller controller;
    try {
      controller = Controller.start(options);
    } catch (IOException e) {
      spec.commandLine().getErr().println("jmesh-controller: " + e.getMessage());
      return 1;
    }
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  LOG.log(Level.INFO, "jmesh controller: stopping");
                  controller.close();
                },
                "jmesh-controller-shutdown"));
    controller.awaitClosed();
    return 0;
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
