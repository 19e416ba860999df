package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TokenFile;
import io.jmesh.runtime.inbound.InboundTerminator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The agent's settings, read once at start from system properties {@code -Djmesh.*} and
 * environment variables {@code JMESH_*} (the system property wins). Every key is listed in
 * {@link #KEYS} and documented in one table in {@code agent/README.md}.
 *
 * <p>A bad value stops nothing: it is reported with the key, the value and what was expected,
 * and the default is used.
 */
public final class AgentConfig {

  /** One setting: its property name, its environment name, its default and its meaning. */
  public record Key(String property, String env, String defaultValue, String description) {}

  public static final Key ENABLED =
      key("jmesh.enabled", "true", "false turns the agent off in this JVM (nothing is woven).");
  public static final Key CONFIG =
      key("jmesh.config", "", "File mode: path of the mesh YAML file; re-read when it changes.");
  public static final Key CONFIG_POLL_MS =
      key("jmesh.config.poll.ms", "1000", "How often file mode checks the file, in ms (50..3600000).");
  public static final Key CONTROLLER =
      key("jmesh.controller", "", "Controller mode: comma-separated xDS addresses host:port of the jmesh controller, tried in turn; wins over jmesh.config.");
  public static final Key TRUST_ANCHORS_FILE =
      key("jmesh.trust.anchors.file", "", "Controller mode: a PEM file of the trust anchors that verify the controller's TLS certificate (the controller's <ca-dir>/trust-anchors.pem, handed out of band, for example a mounted ConfigMap); never taken from the controller itself. Required unless jmesh.controller.insecure.plaintext is true.");
  public static final Key CONTROLLER_TLS_NAME =
      key("jmesh.controller.tls.name", "", "Controller mode: the name the controller's certificate must carry; default: the host of the jmesh.controller (or jmesh.ca) address dialled.");
  public static final Key CONTROLLER_INSECURE_PLAINTEXT =
      key("jmesh.controller.insecure.plaintext", "false", "Controller mode: true to connect without TLS to a controller started with --insecure-plaintext (local demos only: anyone on the path can rewrite this agent's config and read its bootstrap token). Ignored when jmesh.trust.anchors.file is set.");
  public static final Key XDS_INITIAL_WAIT_MS =
      key("jmesh.xds.initial.wait.ms", "2000", "Controller mode: how long the agent holds the application's start until the controller has said which services are meshed, in ms (0..60000; 0: do not wait).");
  public static final Key XDS_FIRST_USE_TIMEOUT_MS =
      key("jmesh.xds.first.use.timeout.ms", "2000", "Controller mode: how long the first call to a service waits for its routes and endpoints, in ms (0..60000).");
  public static final Key XDS_PREFETCH_SERVICES =
      key("jmesh.xds.prefetch.services", "16", "Controller mode: when the controller declares at most this many services, fetch the routes and endpoints of all of them at start rather than at each one's first call (0..10000; 0: only at first use).");
  public static final Key XDS_RECONNECT_MAX_MS =
      key("jmesh.xds.reconnect.max.ms", "30000", "Controller mode: the longest wait between reconnects to the controller, in ms (250..600000); the first is 250 ms, doubling, jitter 0.5.");
  public static final Key SERVICE =
      key("jmesh.service", "", "This workload's service name (used in logs; metrics later).");
  public static final Key NAMESPACE =
      key("jmesh.namespace", "default", "This workload's namespace: short names like 'hello' resolve in it.");
  public static final Key CLUSTER_DOMAIN =
      key("jmesh.cluster.domain", "cluster.local", "The cluster DNS domain for names like hello.default.svc.cluster.local.");
  public static final Key BOOTSTRAP_TOKEN =
      key("jmesh.bootstrap.token", "", "Controller mode: the bootstrap token (printed by jmesh-controller token) that proves this workload's identity to the controller's CA; unset: no mesh identity, mesh TLS off. Never logged. From the environment only: as a -D property it is refused.");
  public static final Key BOOTSTRAP_TOKEN_FILE =
      key("jmesh.bootstrap.token.file", "", "Controller mode: a file holding the bootstrap token (for example a projected service-account token such as /var/run/secrets/jmesh/token), read at start and again at each CA request, trimmed; when a later read fails or finds it empty, the last good token is used. jmesh.bootstrap.token wins when both are set.");
  public static final Key SERVICE_ACCOUNT =
      key("jmesh.service.account", "", "This workload's service account, the last part of its identity spiffe://<trust domain>/ns/<namespace>/sa/<account>; default: jmesh.service, else 'default'.");
  public static final Key TRUST_DOMAIN =
      key("jmesh.trust.domain", "cluster.local", "The trust domain of this workload's identity; must be the controller's --trust-domain.");
  public static final Key CA =
      key("jmesh.ca", "", "Controller mode: the certificate authority's address host:port; default: the first jmesh.controller address.");
  public static final Key IDENTITY_LIFETIME_S =
      key("jmesh.identity.lifetime.s", "86400", "The certificate lifetime asked of the CA, in seconds (60..604800); the CA may grant less. Renewed at two thirds of it.");
  public static final Key IDENTITY_WAIT_MS =
      key("jmesh.identity.wait.ms", "5000", "Controller mode with a token: how long the agent holds the application's start until the first certificate arrives, in ms (0..60000; 0: do not wait).");
  public static final Key INBOUND_PORT =
      key("jmesh.inbound.port", "0", "The mesh inbound listener's port (mTLS; peers reach this workload there); 0: no inbound listener. Needs jmesh.app.port and a mesh identity.");
  public static final Key INBOUND_ADDRESS =
      key("jmesh.inbound.address", "0.0.0.0", "The address the mesh inbound listener binds to.");
  public static final Key APP_PORT =
      key("jmesh.app.port", "0", "The application's own port; the inbound listener forwards what it admits to it on loopback (1..65535).");
  public static final Key ADMIN_PORT =
      key("jmesh.admin.port", "4191", "The agent's admin endpoint (/metrics, /ready, /live; /config, /endpoints and /tap from loopback only), plain HTTP; 0: no admin endpoint.");
  public static final Key ADMIN_ADDRESS =
      key("jmesh.admin.address", "127.0.0.1", "The address the admin endpoint binds to; an IP literal or host name. Loopback by default; 0.0.0.0 or the pod's address lets Prometheus scrape it (/config, /endpoints and /tap stay loopback-only).");
  public static final Key INBOUND_MODE =
      key("jmesh.inbound.mode", "strict", "strict (plaintext to the inbound port is refused) or permissive (plaintext is served without identity, for migration).");
  public static final Key INBOUND_MAX_CONCURRENT_STREAMS =
      key("jmesh.inbound.max.concurrent.streams", "100", "HTTP/2 streams a caller may have open on one connection to the inbound listener (1..10000); more are refused (REFUSED_STREAM).");
  public static final Key INBOUND_MAX_PENDING_REQUESTS =
      key("jmesh.inbound.max.pending.requests", "1024", "Requests that may wait for a connection to the application (0..1000000); one more gets a 503 at once.");
  public static final Key INBOUND_REQUEST_HEADER_TIMEOUT_MS =
      key("jmesh.inbound.request.header.timeout.ms", "10000", "How long a connection to the inbound listener may take from its accept to a complete request header, in ms (100..600000); then it is closed.");
  public static final Key INBOUND_IDLE_TIMEOUT_MS =
      key("jmesh.inbound.idle.timeout.ms", "600000", "How long a connection to the inbound listener may stay without traffic while no request waits for the application, in ms (1000..86400000); then it is closed.");
  public static final Key INBOUND_PROBE_PATHS =
      key("jmesh.inbound.probe.paths", "", "Strict mode: comma-separated exact paths (such as /healthz,/ready, the query ignored) that plaintext HTTP/1.1 GET and HEAD without a body may reach without identity or policy: the kubelet's probes. Anything else in plaintext stays refused.");
  // Inbound capture (see CaptureRules): the application's own port, taken over at its bind.
  public static final Key INBOUND_CAPTURE =
      key("jmesh.inbound.capture", "on", "on: when this workload has a mesh identity, an application bind of a captured port on the wildcard or a workload address goes to 127.0.0.1 and the mesh inbound listener takes the port on the workload's addresses. off: binds are left alone.");
  public static final Key INBOUND_CAPTURE_PORTS =
      key("jmesh.inbound.capture.ports", "all", "The ports captured: all (Linkerd's default), or a comma-separated list of ports and ranges (8080,9000-9010).");
  public static final Key INBOUND_SKIP_PORTS =
      key("jmesh.inbound.skip.ports", "", "Ports never captured (like Linkerd's skip-inbound-ports): a comma-separated list of ports and ranges.");
  public static final Key INBOUND_WORKLOAD_ADDRESSES =
      key("jmesh.inbound.workload.addresses", "", "Comma-separated IP addresses of this workload, where the mesh listener takes a captured port; default: the non-loopback addresses of the interfaces that are up. 127.0.0.1 is refused (the application's side).");
  public static final Key TRACES =
      key("jmesh.traces", "true", "false: jmesh makes no spans and leaves trace headers alone, whatever the OTEL_* variables say (they may be meant for an OpenTelemetry agent in the same JVM). true: spans as OTEL_* say; see Traces.");
  public static final Key LOG_LEVEL =
      key("jmesh.log.level", "info", "debug, info, warn, error or off.");
  public static final Key INSTRUMENTATION_DISABLED =
      key("jmesh.instrumentation.disabled", "", "Comma-separated instrumentation names to skip, e.g. okhttp-3.0.");
  public static final Key EXCLUDE_MAIN =
      key("jmesh.exclude.main", "", "Comma-separated main-class prefixes of JVMs the agent must not touch (added to the JDK and build tools it always skips).");
  public static final Key INJECT_FAULT =
      key("jmesh.debug.inject.fault", "", "Testing only: comma-separated places (route, java-http-client-11, http-url-connection-1.0, okhttp-3.0, all) where the agent throws on purpose, to prove calls still succeed.");

  public static final List<Key> KEYS =
      List.of(
          ENABLED,
          CONFIG,
          CONFIG_POLL_MS,
          CONTROLLER,
          TRUST_ANCHORS_FILE,
          CONTROLLER_TLS_NAME,
          CONTROLLER_INSECURE_PLAINTEXT,
          XDS_INITIAL_WAIT_MS,
          XDS_FIRST_USE_TIMEOUT_MS,
          XDS_PREFETCH_SERVICES,
          XDS_RECONNECT_MAX_MS,
          SERVICE,
          NAMESPACE,
          CLUSTER_DOMAIN,
          BOOTSTRAP_TOKEN,
          BOOTSTRAP_TOKEN_FILE,
          SERVICE_ACCOUNT,
          TRUST_DOMAIN,
          CA,
          IDENTITY_LIFETIME_S,
          IDENTITY_WAIT_MS,
          INBOUND_PORT,
          INBOUND_ADDRESS,
          APP_PORT,
          ADMIN_PORT,
          ADMIN_ADDRESS,
          INBOUND_MODE,
          INBOUND_MAX_CONCURRENT_STREAMS,
          INBOUND_MAX_PENDING_REQUESTS,
          INBOUND_REQUEST_HEADER_TIMEOUT_MS,
          INBOUND_IDLE_TIMEOUT_MS,
          INBOUND_PROBE_PATHS,
          INBOUND_CAPTURE,
          INBOUND_CAPTURE_PORTS,
          INBOUND_SKIP_PORTS,
          INBOUND_WORKLOAD_ADDRESSES,
          TRACES,
          LOG_LEVEL,
          INSTRUMENTATION_DISABLED,
          EXCLUDE_MAIN,
          INJECT_FAULT);

  private static Key key(String property, String defaultValue, String description) {
    String env = "JMESH_" + property.substring("jmesh.".length()).replace('.', '_').toUpperCase(Locale.ROOT);
    return new Key(property, env, defaultValue, description);
  }

  private final Function<String, String> properties;
  private final Function<String, String> environment;
  private final List<String> problems = new ArrayList<>();

  final boolean enabled;
  final Path configFile;
  final long configPollMillis;
  final List<String> controllers;
  final Path trustAnchorsFile; // null: none
  final String controllerTlsName; // null: the host dialled
  final boolean controllerInsecurePlaintext;
  final long xdsInitialWaitMillis;
  final long xdsFirstUseTimeoutMillis;
  final long xdsReconnectMaxMillis;
  final int xdsPrefetchServices;
  final String service;
  final String namespace;
  final String clusterDomain;
  private final String bootstrapToken; // null: none; a secret, never in a log line
  private Path bootstrapTokenFile; // set once, by readBootstrapToken: null unless the token is the file's
  final String serviceAccount;
  final String trustDomain;
  final String caAddress; // null: no CA (no controller and no jmesh.ca)
  final long identityLifetimeSeconds;
  final long identityWaitMillis;
  final int inboundPort; // 0: no inbound listener
  final String inboundAddress;
  final int appPort; // 0: unknown
  final int adminPort; // 0: no admin endpoint
  final String adminAddress;
  final boolean inboundPermissive;
  final int inboundMaxConcurrentStreams;
  final int inboundMaxPendingRequests;
  final long inboundRequestHeaderTimeoutMillis;
  final long inboundIdleTimeoutMillis;
  final Set<String> inboundProbePaths;
  final CaptureRules.Settings capture;
  final boolean traces;
  final AgentLog.Level logLevel;
  final Set<String> disabledInstrumentations;
  final Set<String> injectFaults;

  /** Reads the settings of this JVM. */
  public static AgentConfig fromSystem() {
    return new AgentConfig(System::getProperty, System::getenv);
  }

  /** Reads settings from the given maps, for tests. */
  static AgentConfig of(Map<String, String> properties, Map<String, String> environment) {
    return new AgentConfig(properties::get, environment::get);
  }

  private AgentConfig(Function<String, String> properties, Function<String, String> environment) {
    this.properties = properties;
    this.environment = environment;
    this.enabled = bool(ENABLED);
    String file = raw(CONFIG);
    this.configFile = file.isEmpty() ? null : Path.of(file);
    this.configPollMillis = longIn(CONFIG_POLL_MS, 50, 3_600_000);
    this.controllers = addresses(CONTROLLER);
    String anchors = raw(TRUST_ANCHORS_FILE);
    this.trustAnchorsFile = anchors.isEmpty() ? null : Path.of(anchors);
    this.controllerTlsName = raw(CONTROLLER_TLS_NAME).isEmpty() ? null : raw(CONTROLLER_TLS_NAME);
    this.controllerInsecurePlaintext = bool(CONTROLLER_INSECURE_PLAINTEXT);
    this.xdsInitialWaitMillis = longIn(XDS_INITIAL_WAIT_MS, 0, 60_000);
    this.xdsFirstUseTimeoutMillis = longIn(XDS_FIRST_USE_TIMEOUT_MS, 0, 60_000);
    this.xdsReconnectMaxMillis = longIn(XDS_RECONNECT_MAX_MS, 250, 600_000);
    this.xdsPrefetchServices = (int) longIn(XDS_PREFETCH_SERVICES, 0, 10_000);
    this.service = raw(SERVICE);
    this.namespace = dnsLabel(NAMESPACE);
    this.clusterDomain = raw(CLUSTER_DOMAIN).isEmpty() ? CLUSTER_DOMAIN.defaultValue() : raw(CLUSTER_DOMAIN);
    this.bootstrapToken = readBootstrapToken();
    this.serviceAccount = readServiceAccount();
    this.trustDomain = readTrustDomain();
    this.caAddress = readCaAddress();
    this.identityLifetimeSeconds = longIn(IDENTITY_LIFETIME_S, 60, 604_800);
    this.identityWaitMillis = longIn(IDENTITY_WAIT_MS, 0, 60_000);
    this.inboundPort = (int) longIn(INBOUND_PORT, 0, 65_535);
    this.inboundAddress = raw(INBOUND_ADDRESS).isEmpty() ? INBOUND_ADDRESS.defaultValue() : raw(INBOUND_ADDRESS);
    this.appPort = (int) longIn(APP_PORT, 0, 65_535);
    this.adminPort = (int) longIn(ADMIN_PORT, 0, 65_535);
    this.adminAddress = raw(ADMIN_ADDRESS).isEmpty() ? ADMIN_ADDRESS.defaultValue() : raw(ADMIN_ADDRESS);
    String mode = raw(INBOUND_MODE).toLowerCase(Locale.ROOT);
    if (!mode.equals("strict") && !mode.equals("permissive")) {
      problem(INBOUND_MODE, mode, "strict or permissive");
    }
    this.inboundPermissive = mode.equals("permissive");
    this.inboundMaxConcurrentStreams = (int) longIn(INBOUND_MAX_CONCURRENT_STREAMS, 1, 10_000);
    this.inboundMaxPendingRequests = (int) longIn(INBOUND_MAX_PENDING_REQUESTS, 0, 1_000_000);
    this.inboundRequestHeaderTimeoutMillis = longIn(INBOUND_REQUEST_HEADER_TIMEOUT_MS, 100, 600_000);
    this.inboundIdleTimeoutMillis = longIn(INBOUND_IDLE_TIMEOUT_MS, 1_000, 86_400_000);
    this.inboundProbePaths = probePaths(INBOUND_PROBE_PATHS);
    this.capture = readCapture();
    this.traces = bool(TRACES);
    this.logLevel = level(LOG_LEVEL);
    this.disabledInstrumentations = list(INSTRUMENTATION_DISABLED);
    this.injectFaults = list(INJECT_FAULT);
  }

  /** The value in force and where it came from, or the default. */
  private String raw(Key key) {
    String v = properties.apply(key.property());
    if (v == null) {
      v = environment.apply(key.env());
    }
    return v == null ? key.defaultValue() : v.trim();
  }

  private String source(Key key) {
    return properties.apply(key.property()) != null
        ? "-D" + key.property()
        : environment.apply(key.env()) != null ? key.env() : "default";
  }

  private void problem(Key key, String value, String expected) {
    problem(key, "'" + value + "'", expected, "using '" + key.defaultValue() + "'");
  }

  /** As {@link #problem(Key, String, String)}, with the value as shown and what happens instead. */
  private void problem(Key key, String shownValue, String expected, String instead) {
    problems.add(
        "setting "
            + key.property()
            + " (from "
            + source(key)
            + ") = "
            + shownValue
            + " is invalid (expected: "
            + expected
            + "); "
            + instead);
  }

  /**
   * The token from {@link #BOOTSTRAP_TOKEN}, else from the file of {@link #BOOTSTRAP_TOKEN_FILE}
   * (read now, to check it; read again at each CA request), or null. It is a credential: problems
   * describe it, never show it. Sets {@link #bootstrapTokenFile} when the token is the file's.
   */
  private String readBootstrapToken() {
    String file = raw(BOOTSTRAP_TOKEN_FILE);
    String token = raw(BOOTSTRAP_TOKEN);
    String fromProperty = properties.apply(BOOTSTRAP_TOKEN.property());
    if (fromProperty != null) {
      // A -D property is on the command line, which ps and jcmd show to anyone on the host.
      problem(BOOTSTRAP_TOKEN,
          "a token of " + fromProperty.trim().length() + " characters (not shown)",
          "the environment variable " + BOOTSTRAP_TOKEN.env() + ", or a file named by "
              + BOOTSTRAP_TOKEN_FILE.env() + " or -D" + BOOTSTRAP_TOKEN_FILE.property()
              + "; a -D property is visible to ps and jcmd",
          "refused, never used");
      String fromEnv = environment.apply(BOOTSTRAP_TOKEN.env());
      token = fromEnv == null ? "" : fromEnv.trim();
    }
    String from = BOOTSTRAP_TOKEN.property();
    if (token.isEmpty() && !file.isEmpty()) {
      try {
        token = Files.readString(Path.of(file), StandardCharsets.UTF_8).trim();
      } catch (IOException | RuntimeException e) {
        problem(BOOTSTRAP_TOKEN_FILE, "'" + file + "'", "a readable file holding the token",
            "cannot read it (" + e + "); no bootstrap token, mesh TLS off");
        return null;
      }
      from = BOOTSTRAP_TOKEN_FILE.property();
      if (token.isEmpty()) {
        problem(BOOTSTRAP_TOKEN_FILE, "'" + file + "'", "a file holding the token", "it is empty; no bootstrap token, mesh TLS off");
        return null;
      }
    } else if (!token.isEmpty() && !file.isEmpty()) {
      problems.add(
          "settings " + BOOTSTRAP_TOKEN.property() + " and " + BOOTSTRAP_TOKEN_FILE.property()
              + " are both set: using " + BOOTSTRAP_TOKEN.property() + ", ignoring the file " + file);
    }
    if (token.isEmpty()) {
      return null;
    }
    String bad = TokenFile.problem(token);
    if (bad != null) {
      Key key = from.equals(BOOTSTRAP_TOKEN.property()) ? BOOTSTRAP_TOKEN : BOOTSTRAP_TOKEN_FILE;
      problem(key, bad, "printable ASCII without spaces, the line jmesh-controller token prints",
          "no bootstrap token, mesh TLS off");
      return null;
    }
    if (from.equals(BOOTSTRAP_TOKEN_FILE.property())) {
      bootstrapTokenFile = Path.of(file);
    }
    return token;
  }

  /** The explicit account, else the service name when it is a valid one, else 'default'. */
  private String readServiceAccount() {
    String v = raw(SERVICE_ACCOUNT);
    String fallback = "default";
    String service = raw(SERVICE);
    if (!service.isEmpty() && spiffeProblem("x", "x", service) == null) {
      fallback = service;
    }
    if (v.isEmpty()) {
      return fallback;
    }
    if (spiffeProblem("x", "x", v) != null) {
      problem(SERVICE_ACCOUNT, "'" + v + "'", "1 or more of letters, digits, '.', '-', '_'", "using '" + fallback + "'");
      return fallback;
    }
    return v;
  }

  private String readTrustDomain() {
    String v = raw(TRUST_DOMAIN);
    if (spiffeProblem(v, "x", "x") != null) {
      problem(TRUST_DOMAIN, v, "1 or more of lower-case letters, digits, '.', '-', '_', such as cluster.local");
      return TRUST_DOMAIN.defaultValue();
    }
    return v;
  }

  /** Where SpiffeId would refuse these parts, or null: one rule for the agent and the runtime. */
  private static String spiffeProblem(String trustDomain, String namespace, String serviceAccount) {
    try {
      SpiffeId.of(trustDomain, namespace, serviceAccount);
      return null;
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
  }

  private String readCaAddress() {
    String v = raw(CA);
    String fallback = controllers.isEmpty() ? null : controllers.get(0);
    if (v.isEmpty()) {
      return fallback;
    }
    if (!isHostPort(v)) {
      problem(CA, "'" + v + "'", "host:port with a port in 1..65535",
          fallback == null ? "no CA, mesh TLS off" : "using the first controller address " + fallback);
      return fallback;
    }
    return v;
  }

  private static boolean isHostPort(String a) {
    int colon = a.lastIndexOf(':');
    String port = colon < 0 ? "" : a.substring(colon + 1);
    return colon > 0 && port.matches("[0-9]{1,5}") && Integer.parseInt(port) >= 1 && Integer.parseInt(port) <= 65535;
  }

  private boolean bool(Key key) {
    String v = raw(key).toLowerCase(Locale.ROOT);
    switch (v) {
      case "true":
        return true;
      case "false":
        return false;
      default:
        problem(key, v, "true or false");
        return Boolean.parseBoolean(key.defaultValue());
    }
  }

  private long longIn(Key key, long min, long max) {
    String v = raw(key);
    try {
      long n = Long.parseLong(v);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // Reported below.
    }
    problem(key, v, "an integer between " + min + " and " + max);
    return Long.parseLong(key.defaultValue());
  }

  /** Probe paths; a bad list is reported whole and none are used (strict refuses plaintext). */
  private Set<String> probePaths(Key key) {
    String v = raw(key);
    try {
      return InboundTerminator.Options.parseProbePaths(v);
    } catch (IllegalArgumentException e) {
      problem(key, "'" + v + "'", "comma-separated exact paths such as /healthz,/ready; " + e.getMessage(),
          "no probe paths: plaintext to a strict inbound port is refused");
      return Set.of();
    }
  }

  private String dnsLabel(Key key) {
    String v = raw(key).toLowerCase(Locale.ROOT);
    if (v.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
      return v;
    }
    problem(key, v, "a DNS label such as 'default' (lower-case letters, digits, '-')");
    return key.defaultValue();
  }

  /** host:port items; a bad one is reported and dropped. */
  private List<String> addresses(Key key) {
    List<String> out = new ArrayList<>();
    for (String item : raw(key).split(",")) {
      String a = item.trim();
      if (a.isEmpty()) {
        continue;
      }
      if (!isHostPort(a)) {
        problems.add(
            "setting " + key.property() + " (from " + source(key) + "): '" + a
                + "' is invalid (expected: host:port with a port in 1..65535); ignoring it");
        continue;
      }
      out.add(a);
    }
    return List.copyOf(out);
  }

  private AgentLog.Level level(Key key) {
    String v = raw(key);
    try {
      return AgentLog.Level.valueOf(v.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      problem(key, v, "one of debug, info, warn, error, off");
      return AgentLog.Level.INFO;
    }
  }

  private Set<String> list(Key key) {
    Set<String> out = new LinkedHashSet<>();
    for (String s : raw(key).split(",")) {
      if (!s.isBlank()) {
        out.add(s.trim().toLowerCase(Locale.ROOT));
      }
    }
    return Collections.unmodifiableSet(out);
  }

  /** The inbound capture settings (jmesh.inbound.capture, .capture.ports, .skip.ports, .workload.addresses). */
  public CaptureRules.Settings capture() {
    return capture;
  }

  private CaptureRules.Settings readCapture() {
    String on = raw(INBOUND_CAPTURE).toLowerCase(Locale.ROOT);
    if (!on.equals("on") && !on.equals("off")) {
      problem(INBOUND_CAPTURE, on, "on or off");
      on = INBOUND_CAPTURE.defaultValue();
    }
    CaptureRules.Ports ports = CaptureRules.Ports.ALL;
    String p = raw(INBOUND_CAPTURE_PORTS);
    if (!p.equalsIgnoreCase("all")) {
      try {
        ports = CaptureRules.Ports.parse(p);
      } catch (IllegalArgumentException e) {
        problem(INBOUND_CAPTURE_PORTS, "'" + p + "'", "all, or ports and ranges such as 8080,9000-9010: " + e.getMessage(), "capturing all ports");
      }
    }
    CaptureRules.Ports skip = CaptureRules.Ports.NONE;
    try {
      skip = CaptureRules.Ports.parse(raw(INBOUND_SKIP_PORTS));
    } catch (IllegalArgumentException e) {
      problem(INBOUND_SKIP_PORTS, "'" + raw(INBOUND_SKIP_PORTS) + "'", "ports and ranges such as 8080,9000-9010: " + e.getMessage(), "skipping none");
    }
    List<java.net.InetAddress> addresses = new ArrayList<>();
    for (String a : raw(INBOUND_WORKLOAD_ADDRESSES).split(",")) {
      if (a.isBlank()) {
        continue;
      }
      try {
        java.net.InetAddress address = CaptureRules.ipLiteral(a.trim());
        if (address.equals(CaptureRules.APPLICATION_ADDRESS) || address.isAnyLocalAddress()) {
          throw new IllegalArgumentException("it is where the application is moved to, or the wildcard");
        }
        addresses.add(address);
      } catch (IllegalArgumentException e) {
        problem(INBOUND_WORKLOAD_ADDRESSES, "'" + a.trim() + "'", "an IP literal other than 127.0.0.1 and the wildcard (" + e.getMessage() + ")", "leaving it out");
      }
    }
    return new CaptureRules.Settings(on.equals("on"), ports, skip, List.copyOf(addresses));
  }

  /** The problems found while reading, one line each (key, value, expectation). */
  public List<String> problems() {
    return List.copyOf(problems);
  }

  public boolean enabled() {
    return enabled;
  }

  /** The file-mode config, or null when none is set. */
  public Path configFile() {
    return configFile;
  }

  /** The PEM file of anchors that verify the controller, or null when none is set. */
  public Path trustAnchorsFile() {
    return trustAnchorsFile;
  }

  /** The name the controller's certificate must carry, or null for the host dialled. */
  public String controllerTlsName() {
    return controllerTlsName;
  }

  /** Whether plaintext to the controller was explicitly asked for. */
  public boolean controllerInsecurePlaintext() {
    return controllerInsecurePlaintext;
  }

  /** The controller addresses; empty when not in controller mode. */
  public List<String> controllers() {
    return controllers;
  }

  public long xdsInitialWaitMillis() {
    return xdsInitialWaitMillis;
  }

  public long xdsFirstUseTimeoutMillis() {
    return xdsFirstUseTimeoutMillis;
  }

  public long xdsReconnectMaxMillis() {
    return xdsReconnectMaxMillis;
  }

  public int xdsPrefetchServices() {
    return xdsPrefetchServices;
  }

  public long configPollMillis() {
    return configPollMillis;
  }

  public String service() {
    return service;
  }

  public String namespace() {
    return namespace;
  }

  public String clusterDomain() {
    return clusterDomain;
  }

  /** The bootstrap token, or null when none is set (or it was unusable). A secret: never log it. */
  public String bootstrapToken() {
    return bootstrapToken;
  }

  /**
   * The file the {@link #bootstrapToken()} was read from, to be read again at each CA request (the
   * kubelet rotates a projected service-account token); null when the token was given directly or
   * there is none.
   */
  public Path bootstrapTokenFile() {
    return bootstrapTokenFile;
  }

  public String serviceAccount() {
    return serviceAccount;
  }

  public String trustDomain() {
    return trustDomain;
  }

  /** The CA's {@code host:port}, or null when there is none. */
  public String caAddress() {
    return caAddress;
  }

  public long identityLifetimeSeconds() {
    return identityLifetimeSeconds;
  }

  public long identityWaitMillis() {
    return identityWaitMillis;
  }

  /** The mesh inbound listener's port; 0 when there is none. */
  public int inboundPort() {
    return inboundPort;
  }

  public String inboundAddress() {
    return inboundAddress;
  }

  /** The application's own port, 0 when not set. */
  public int appPort() {
    return appPort;
  }

  /** The admin endpoint's port; 0 when it is off. */
  public int adminPort() {
    return adminPort;
  }

  public String adminAddress() {
    return adminAddress;
  }

  public boolean inboundPermissive() {
    return inboundPermissive;
  }

  /** HTTP/2 streams a caller may have open on one inbound connection. */
  public int inboundMaxConcurrentStreams() {
    return inboundMaxConcurrentStreams;
  }

  /** Requests that may wait for a connection to the application before a 503. */
  public int inboundMaxPendingRequests() {
    return inboundMaxPendingRequests;
  }

  public long inboundRequestHeaderTimeoutMillis() {
    return inboundRequestHeaderTimeoutMillis;
  }

  public long inboundIdleTimeoutMillis() {
    return inboundIdleTimeoutMillis;
  }

  /** Paths served to plaintext health checks in strict mode; empty: none. */
  public Set<String> inboundProbePaths() {
    return inboundProbePaths;
  }

  /** Whether jmesh may make spans at all; the OTEL_* variables then decide (see Traces). */
  public boolean traces() {
    return traces;
  }

  public AgentLog.Level logLevel() {
    return logLevel;
  }

  public boolean instrumentationEnabled(String name) {
    return !disabledInstrumentations.contains(name.toLowerCase(Locale.ROOT));
  }

  void maybeInjectFault(String place) {
    if (!injectFaults.isEmpty()
        && (injectFaults.contains("all") || injectFaults.contains(place.toLowerCase(Locale.ROOT)))) {
      throw new IllegalStateException(
          "jmesh: fault injected at '" + place + "' (jmesh.debug.inject.fault)");
    }
  }
}
