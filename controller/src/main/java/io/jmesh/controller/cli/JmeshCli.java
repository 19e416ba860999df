package io.jmesh.controller.cli;

import io.jmesh.runtime.config.Durations;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.ScopeType;

/**
 * The {@code jmesh} command line ({@code bin/jmesh}, or {@code java -cp jmesh-controller.jar
 * io.jmesh.controller.cli.JmeshCli}): {@code check}, {@code stat}, {@code routes}, {@code
 * endpoints} and {@code tap}. It asks the controller's admin API which agents are connected
 * ({@code /agents}, with each agent's admin address) and then each agent's admin endpoint.
 *
 * <p>Exit codes: 0 success; 1 a check failed, or the controller or every agent could not be
 * reached (the message names which and why); 2 a bad command line.
 *
 * <p>Thread-safety: one command per instance, run once.
 */
@Command(
    name = "jmesh",
    mixinStandardHelpOptions = true,
    versionProvider = JmeshCli.Version.class,
    description = {
      "Looks at a running jmesh: the controller's admin API and every connected agent's admin"
          + " endpoint (controller/README.md, \"The jmesh CLI\")."
    },
    subcommands = {
      CheckCommand.class,
      StatCommand.class,
      RoutesCommand.class,
      EndpointsCommand.class,
      TapCommand.class,
      InstallCommand.class
    })
public final class JmeshCli {
  @Spec CommandSpec spec;
  static final String DEFAULT_CONTROLLER_ADMIN = "127.0.0.1:18001";
  static final String CONTROLLER_EXPECTATION =
      "the controller's --admin-address, set with --controller-admin or JMESH_CONTROLLER_ADMIN;"
          + " is the controller running?";

  @Option(
      names = "--controller-admin",
      scope = ScopeType.INHERIT,
      paramLabel = "<host:port>",
      defaultValue = "${env:JMESH_CONTROLLER_ADMIN:-" + DEFAULT_CONTROLLER_ADMIN + "}",
      description =
          "The controller's admin address (its --admin-address). Default: $JMESH_CONTROLLER_ADMIN,"
              + " else " + DEFAULT_CONTROLLER_ADMIN + ".")
  String controllerAdmin;

  @Option(
      names = "--timeout",
      scope = ScopeType.INHERIT,
      paramLabel = "<duration>",
      defaultValue = "5s",
      converter = DurationConverter.class,
      description = "How long to wait for each admin request (5s, 500ms). Default: ${DEFAULT-VALUE}.")
  Duration timeout;

  public static void main(String[] args) {
    System.exit(run(args, stdout(System.out), stdout(System.err)));
  }

  /** Runs one command line, printing to {@code out} and {@code err}; returns the exit code. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new JmeshCli());
    cli.setOut(out);
    cli.setErr(err);
    int code = cli.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  // UTF-8 whatever the locale: tap lines say µs.
  private static PrintWriter stdout(java.io.PrintStream stream) {
    return new PrintWriter(new OutputStreamWriter(stream, StandardCharsets.UTF_8), true);
  }

  CommandSpec spec() {
    return spec;
  }

  AdminHttp http() {
    return new AdminHttp(timeout);
  }

  /** The connected agents, from the controller's /agents. */
  List<MeshAgent> agents(AdminHttp http) throws AdminHttp.AdminException {
    String body = http.get("controller admin", controllerAdmin, "/agents", CONTROLLER_EXPECTATION);
    try {
      return MeshAgent.fromAgentsJson(body);
    } catch (RuntimeException e) {
      throw new AdminHttp.AdminException(
          "controller admin " + controllerAdmin + "/agents: unreadable answer: " + e.getMessage());
    }
  }

  /** The agents that announced an admin address; warns on {@code err} about the others. */
  static List<MeshAgent> reachable(List<MeshAgent> agents, PrintWriter err) {
    List<MeshAgent> out = new ArrayList<>();
    for (MeshAgent a : agents) {
      if (a.adminAddress() == null) {
        err.println("jmesh: agent " + a.label() + " announced no admin port (JMESH_ADMIN_PORT=0?): left out");
      } else {
        out.add(a);
      }
    }
    return out;
  }

  /** {@code 10s}, {@code 500ms}, {@code 2m}, {@code 1m30s}: as {@link Durations} reads them, positive. */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        Duration d = Durations.parse("duration", value);
        if (!d.isZero()) {
          return d;
        }
      } catch (IllegalArgumentException e) {
        // picocli names the option; the message below says what was expected.
      }
      throw new CommandLine.TypeConversionException(
          "\"" + value + "\" (expected: a positive duration such as 10s, 500ms, 2m or 1m30s)");
    }
  }

  /** The version from the jar manifest, when run from the packaged jar. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = JmeshCli.class.getPackage().getImplementationVersion();
      return new String[] {"jmesh " + (version == null ? "(development)" : version)};
    }
  }
}
