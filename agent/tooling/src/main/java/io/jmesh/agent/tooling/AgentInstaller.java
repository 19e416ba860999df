package io.jmesh.agent.tooling;

import static net.bytebuddy.matcher.ElementMatchers.isSynthetic;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;

import io.jmesh.bridge.AgentLog;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.identity.GrpcCertificateClient;
import io.jmesh.runtime.identity.IdentityManager;
import io.jmesh.runtime.identity.MeshTls;
import io.jmesh.runtime.inbound.InboundTerminator;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.identity.TlsRefusals;
import io.jmesh.runtime.retry.Backoff;
import io.jmesh.runtime.telemetry.MeshMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.jmesh.runtime.trace.TraceSettings;
import io.jmesh.runtime.trace.Tracing;
import io.jmesh.runtime.xds.XdsClient;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import io.jmesh.runtime.RuntimeLog;
import java.io.File;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.utility.JavaModule;

/**
 * Starts jmesh inside a workload JVM: reads the settings, starts the runtime, installs the bridge
 * hooks and weaves every enabled instrumentation. Called reflectively by the launcher in the jar
 * root, inside the isolated agent class loader.
 */
public final class AgentInstaller {
  private AgentInstaller() {}

  /** How long a class to weave may wait for the agent's background start. */
  private static final long START_WAIT_MILLIS = 30_000;

  /**
   * Registers the start gate and returns at once; the runtime and ByteBuddy start on the daemon
   * thread {@code jmesh-start}, in parallel with the application's own start-up.
   */
  public static void install(Instrumentation inst, String args, boolean attached, File jar) {
    long start = System.nanoTime();
    AgentConfig config = AgentConfig.fromSystem();
    AgentLog.setLevel(config.logLevel());
    config.problems().forEach(AgentLog::warn);
    RuntimeLog.setSink(AgentInstaller::runtimeLog);

    ClassLoader agentLoader = AgentInstaller.class.getClassLoader();
    List<InstrumentationModule> modules = new ArrayList<>();
    Set<String> targets = new HashSet<>();
    for (InstrumentationModule module : ServiceLoader.load(InstrumentationModule.class, agentLoader)) {
      if (!config.instrumentationEnabled(module.name())) {
        AgentLog.info("instrumentation " + module.name() + " disabled by " + AgentConfig.INSTRUMENTATION_DISABLED.property());
        continue;
      }
      modules.add(module);
      for (TypeInstrumentation type : module.typeInstrumentations()) {
        targets.add(type.typeName().replace('.', '/'));
      }
    }
    StartGate gate = new StartGate(Set.copyOf(targets), START_WAIT_MILLIS);
    inst.addTransformer(gate, true);
    Thread starter =
        new Thread(() -> finishStart(inst, config, modules, gate, attached, start), "jmesh-start");
    starter.setDaemon(true); // No agent thread keeps a JVM alive.
    gate.starter(starter);
    starter.start();
    AgentLog.debug("premain returned after " + (System.nanoTime() - start) / 1_000_000 + " ms");
  }

  private static void finishStart(
      Instrumentation inst,
      AgentConfig config,
      List<InstrumentationModule> modules,
      StartGate gate,
      boolean attached,
      long start) {
    ClassFileTransformer weaver = null;
    List<String> installed = new ArrayList<>();
    MeshRuntime runtime = null;
    // The admin endpoint opens first, so that /live answers and /ready says what is missing
    // while the runtime waits for the controller and the CA.
    MeshMetrics metrics = startAdmin(config);
    try {
      Tracing tracing = startTracing(config);
      runtime = startRuntime(config, metrics, tracing);
      started = runtime;
      AgentLog.debug("runtime started at +" + (System.nanoTime() - start) / 1_000_000 + " ms");
      AgentContext context = new AgentContext(runtime, config, tracing);
      MeshCalls calls = new MeshCalls(runtime, context);
      Agent.set(context, calls);
      MeshBridge.install(calls);
      weaver = weaver(inst, modules, context, installed);
      AgentLog.debug("weaving rules built at +" + (System.nanoTime() - start) / 1_000_000 + " ms");
    } catch (Throwable t) {
      failure = String.valueOf(t);
      AgentLog.error("agent failed to start; the application runs unmeshed", t);
    } finally {
      gate.open(weaver);
    }
    if (weaver == null) {
      return;
    }
    retransformLoadedTargets(inst, gate);
    ready = true;
    AgentLog.info(
        "agent started"
            + (attached ? " (attached)" : "")
            + ": service="
            + (config.service().isEmpty() ? "-" : config.service())
            + " namespace="
            + config.namespace()
            + " mode="
            + (!config.controllers().isEmpty()
                ? "controller " + String.join(",", config.controllers())
                : config.configFile() == null ? "none (set JMESH_CONTROLLER or JMESH_CONFIG)" : "file " + config.configFile())
            + " identity="
            + (runtime.meshTls() == null ? "none" : runtime.meshTls().identity().id())
            + " instrumentations="
            + installed
            + " in "
            + (System.nanoTime() - start) / 1_000_000
            + " ms");
  }

  /** ByteBuddy's transformer for every enabled module; the gate is its only caller. */
  private static ClassFileTransformer weaver(
      Instrumentation inst, List<InstrumentationModule> modules, AgentContext context, List<String> installed) {
    AgentBuilder builder =
        new AgentBuilder.Default()
            .disableClassFormatChanges()
            .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
            .with(AgentBuilder.InitializationStrategy.NoOp.INSTANCE)
            .with(AgentBuilder.TypeStrategy.Default.REDEFINE)
            .with(new ErrorListener())
            // Unlike ByteBuddy's default, weave bootstrap and platform classes: the JDK clients
            // live there. Never weave ourselves.
            .ignore(
                nameStartsWith("io.jmesh.")
                    .or(nameStartsWith("net.bytebuddy."))
                    .or(nameStartsWith("jdk.internal.reflect."))
                    .or(nameStartsWith("java.lang.invoke."))
                    .or(isSynthetic()))
            // Woven JDK modules (java.base, java.net.http) must read the bridge's module.
            .assureReadEdgeTo(inst, MeshBridge.class);
    ClassLoader agentLoader = AgentInstaller.class.getClassLoader();
    for (InstrumentationModule module : modules) {
      try {
        module.install(context);
      } catch (Throwable t) {
        AgentLog.error("instrumentation " + module.name() + " failed to install; skipped", t);
        continue;
      }
      HelperInjector helpers = new HelperInjector(module.name(), module.helperClassNames(), agentLoader);
      for (TypeInstrumentation type : module.typeInstrumentations()) {
        builder = builder.type(type.typeMatcher()).transform(new ModuleTransformer(module, type, helpers));
      }
      installed.add(module.name());
    }
    return builder.makeRaw();
  }

  /**
   * Weaves targets that loaded before the gate existed: the agent was attached to a running JVM,
   * or another agent used an HTTP client first.
   */
  private static void retransformLoadedTargets(Instrumentation inst, StartGate gate) {
    List<Class<?>> loaded = new ArrayList<>();
    for (Class<?> c : inst.getAllLoadedClasses()) {
      if (gate.isTarget(c.getName()) && inst.isModifiableClass(c)) {
        loaded.add(c);
      }
    }
    for (Class<?> c : loaded) {
      try {
        AgentLog.debug(c.getName() + " was already loaded: retransforming");
        inst.retransformClasses(c);
      } catch (Throwable t) {
        AgentLog.warn("could not weave the already loaded " + c.getName() + "; it stays unmeshed", t);
      }
    }
  }

  private static void runtimeLog(System.Logger.Level level, String message) {
    switch (level) {
      case ERROR:
      case WARNING:
        AgentLog.warn(message);
        break;
      case INFO:
        AgentLog.info(message);
        break;
      default:
        AgentLog.debug(message);
    }
  }

  // What /ready reads; written once each by the start thread.
  private static volatile MeshRuntime started;
  private static volatile boolean ready;
  private static volatile String failure;
  private static volatile XdsClient xds;
  private static volatile AdminServer admin;

  /**
   * Creates the Prometheus registry the runtime records into and opens the admin endpoint on it.
   * Never throws: without either the application runs, and the metrics go nowhere.
   */
  private static MeshMetrics startAdmin(AgentConfig config) {
    PrometheusMeterRegistry registry;
    MeshMetrics metrics;
    try {
      registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      metrics = new MeshMetrics(registry, serviceName(config) + "." + config.namespace());
    } catch (Throwable t) {
      AgentLog.warn("metrics are off: the Prometheus registry could not start", t);
      return MeshMetrics.noop();
    }
    if (config.adminPort() == 0) {
      return metrics;
    }
    admin =
        AdminServer.start(
            config.adminAddress(),
            config.adminPort(),
            registry,
            metrics.tap(),
            () -> started,
            () -> notReady(config));
    if (admin != null) {
      AgentLog.info(
          "admin endpoint on http://" + config.adminAddress() + ":" + admin.port()
              + " (/metrics, /ready, /live; /config, /endpoints and /tap from loopback)");
    }
    return metrics;
  }

  /** What keeps the agent from being ready, one phrase each; empty when it is ready. */
  private static List<String> notReady(AgentConfig config) {
    List<String> missing = new ArrayList<>();
    if (failure != null) {
      missing.add("the agent failed to start (" + failure + "); the application runs unmeshed");
      return missing;
    }
    if (!ready) {
      missing.add("the agent is still starting");
    }
    if (!config.controllers().isEmpty()) {
      XdsClient client = xds;
      if (client == null || !client.awaitListeners(Duration.ZERO)) {
        missing.add("no config from the controller at " + String.join(",", config.controllers()) + " yet");
      }
    }
    if (config.bootstrapToken() != null && !config.controllers().isEmpty()) {
      MeshRuntime r = started;
      if (r == null || r.meshTls() == null) {
        missing.add("no mesh identity (a bootstrap token is set; see the log for why the identity did not start)");
      } else if (r.meshTls().identity().current() == null) {
        String error = r.meshTls().identity().lastError();
        missing.add("no certificate from the CA yet" + (error == null ? "" : " (last error: " + error + ")"));
      }
    }
    return missing;
  }

  /**
   * What the controller shows of this agent beyond its name: the admin port, so that the {@code
   * jmesh} CLI can find every agent's /metrics and /tap through the controller's /agents.
   */
  private static Map<String, String> nodeMetadata() {
    AdminServer a = admin;
    return a == null ? Map.of() : Map.of("jmesh.admin.port", Integer.toString(a.port()));
  }


  /**
   * jmesh's tracer, from the standard OTEL_* settings (see agent/README.md, Traces); off when
   * {@code jmesh.traces} is false or they ask for no export. Never throws: without it calls go on
   * untraced.
   */
  private static Tracing startTracing(AgentConfig config) {
    if (!config.traces()) {
      return Tracing.disabled();
    }
    try {
      TraceSettings settings =
          TraceSettings.fromSystem(config.service().isEmpty() ? "unknown_service:java" : config.service());
      Tracing tracing = Tracing.start(settings, io.jmesh.runtime.time.Ticker.system());
      if (tracing.enabled()) {
        // The last batch of a JVM that exits would be lost: export it on the way out (bounded
        // by Tracing.close()).
        Runtime.getRuntime().addShutdownHook(new Thread(tracing::close, "jmesh-traces-flush"));
      }
      return tracing;
    } catch (RuntimeException | LinkageError e) {
      AgentLog.warn("traces: could not start; calls go on untraced", e);
      return Tracing.disabled();
    }
  }

  private static MeshRuntime startRuntime(AgentConfig config, MeshMetrics metrics, Tracing tracing) {
    MeshRuntime.Options options = new MeshRuntime.Options(config.namespace(), config.clusterDomain());
    if (config.controllers().isEmpty() && config.configFile() == null) {
      AgentLog.warn(
          "no mesh config: set JMESH_CONTROLLER (controller mode) or JMESH_CONFIG (file mode);"
              + " every call goes on unmeshed");
      return MeshRuntime.builder().options(options).metrics(metrics).build();
    }
    ScheduledExecutorService scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "jmesh-config");
              t.setDaemon(true); // No agent thread keeps a JVM alive.
              return t;
            });
    if (!config.controllers().isEmpty()) {
      if (config.configFile() != null) {
        AgentLog.warn(
            "both JMESH_CONTROLLER and JMESH_CONFIG are set: using the controller, ignoring "
                + config.configFile());
      }
      XdsClient client =
          new XdsClient(
              new XdsClient.Options(
                  config.controllers(),
                  new XdsClient.NodeIdentity(
                      nodeId(config), serviceName(config), config.namespace(), nodeMetadata()),
                  Duration.ofMillis(250),
                  Duration.ofMillis(config.xdsReconnectMaxMillis())),
              scheduler,
              () -> ThreadLocalRandom.current().nextLong());
      xds = client;
      long identityStart = System.nanoTime();
      MeshTls meshTls = startIdentity(config, scheduler);
      MeshRuntime.Builder builder =
          MeshRuntime.builder()
              .options(options)
              .metrics(metrics)
              .discovery(client, Duration.ofMillis(config.xdsFirstUseTimeoutMillis()));
      if (meshTls != null) {
        builder.identity(meshTls);
      }
      MeshRuntime runtime;
      try {
        runtime = builder.build();
      } catch (RuntimeException | Error e) {
        if (meshTls != null) {
          meshTls.identity().close(); // no renewal for a runtime that does not exist
        }
        throw e;
      }
      // Until the Listeners arrive the agent cannot tell a mesh destination from any other host,
      // so the application's first calls would bypass the mesh: hold its start, boundedly (as
      // Istio's holdApplicationUntilProxyStarts holds containers until the sidecar is ready).
      long wait = config.xdsInitialWaitMillis();
      if (wait > 0 && !client.awaitListeners(Duration.ofMillis(wait))) {
        AgentLog.warn(
            "no answer from the controller at " + String.join(",", config.controllers())
                + " within " + wait + " ms (" + AgentConfig.XDS_INITIAL_WAIT_MS.property()
                + "); the application starts now and its calls go unmeshed until it answers");
      }
      startInbound(config, meshTls, runtime, tracing);
      if (meshTls != null) {
        awaitIdentity(config, meshTls.identity(), identityStart);
      }
      return runtime;
    }
    if (config.bootstrapToken() != null) {
      AgentLog.warn(
          "mesh TLS is off: a bootstrap token is set but mesh identity needs controller mode"
              + " (JMESH_CONTROLLER); the token is ignored");
    }
    return MeshRuntime.builder()
        .options(options)
        .metrics(metrics)
        .configFile(config.configFile(), scheduler, config.configPollMillis())
        .build();
  }

  /** The mesh inbound listener, while there is one; its threads are daemons. */
  private static volatile InboundTerminator inbound;

  /**
   * Opens the workload's mesh inbound listener when {@code jmesh.inbound.port} is set: mTLS with
   * this workload's identity, each request checked against the authorization policy of this
   * workload's service as the controller sends it (all authenticated callers until it says
   * otherwise, Linkerd's default), forwarding to {@code jmesh.app.port} on loopback. Never throws: without it the application
   * runs, and its peers' calls fail (closed).
   */
  private static void startInbound(AgentConfig config, MeshTls meshTls, MeshRuntime runtime, Tracing tracing) {
    if (config.inboundPort() == 0) {
      return;
    }
    if (meshTls == null) {
      AgentLog.warn(
          "no mesh inbound listener on port " + config.inboundPort() + ": this workload has no mesh"
              + " identity (set " + AgentConfig.BOOTSTRAP_TOKEN.env() + ")");
      return;
    }
    if (config.appPort() == 0) {
      AgentLog.warn(
          "no mesh inbound listener on port " + config.inboundPort() + ": "
              + AgentConfig.APP_PORT.env() + " is not set (expected: the application's own port)");
      return;
    }
    String service = serviceName(config) + "." + config.namespace();
    InboundTerminator.Mode mode =
        config.inboundPermissive() ? InboundTerminator.Mode.PERMISSIVE : InboundTerminator.Mode.STRICT;
    try {
      inbound =
          InboundTerminator.start(
              InboundTerminator.Options.of(
                      new java.net.InetSocketAddress(config.inboundAddress(), config.inboundPort()),
                      new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), config.appPort()))
                  .withMode(mode),
              meshTls,
              () -> runtime.inboundPolicy(service), // read per request: a new policy applies at once
              new io.jmesh.runtime.inbound.InboundStats(runtime.metrics().server(service)),
              tracing);
      AgentLog.info(
          "mesh inbound listener on " + config.inboundAddress() + ":" + inbound.port() + " ("
              + mode.name().toLowerCase(java.util.Locale.ROOT) + " mTLS) -> application on 127.0.0.1:"
              + config.appPort());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      AgentLog.warn(
          "no mesh inbound listener: cannot listen on " + config.inboundAddress() + ":"
              + config.inboundPort() + ": " + e);
    }
  }

  /**
   * Starts this workload's identity (a certificate from the CA, renewed in the background) and
   * returns its mesh TLS, or null when there is none: no bootstrap token, or settings the runtime
   * refused. Never throws: without an identity the application still runs, and only mesh TLS
   * fails (closed).
   */
  private static MeshTls startIdentity(AgentConfig config, ScheduledExecutorService scheduler) {
    String token = config.bootstrapToken();
    if (token == null) {
      AgentLog.info(
          "mesh TLS is off: no bootstrap token is set (" + AgentConfig.BOOTSTRAP_TOKEN.env() + " or "
              + AgentConfig.BOOTSTRAP_TOKEN_FILE.env() + "), so this workload has no mesh identity");
      return null;
    }
    SpiffeId id = null;
    try {
      id = SpiffeId.of(config.trustDomain(), config.namespace(), config.serviceAccount());
      String ca = config.caAddress();
      int colon = ca.lastIndexOf(':');
      String host = ca.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1); // an IPv6 literal
      }
      int port = Integer.parseInt(ca.substring(colon + 1));
      // The xDS scheduler runs the CA's callbacks too: the manager hops onto it anyway, and one
      // daemon thread keeps no JVM alive.
      GrpcCertificateClient client = new GrpcCertificateClient(host, port, token, scheduler);
      IdentityManager identity =
          new IdentityManager(
              id,
              client,
              scheduler,
              Clock.systemUTC(),
              // A CA that is down is asked again soon, then less and less often, never in
              // lockstep with the other workloads that saw it go.
              Backoff.exponential(
                  Duration.ofSeconds(1), Duration.ofSeconds(60), 0.5, () -> ThreadLocalRandom.current().nextLong()),
              Duration.ofSeconds(config.identityLifetimeSeconds()));
      MeshTls meshTls = new MeshTls(identity, new TlsRefusals(), Clock.systemUTC());
      identity.start();
      AgentLog.info("identity " + id + ": asking the CA at " + client.target() + " for a certificate");
      return meshTls;
    } catch (RuntimeException e) {
      AgentLog.warn(
          "identity " + (id == null ? "" : id + " ") + "could not start: " + e.getMessage()
              + "; mesh TLS refuses connections, the application runs",
          e);
      return null;
    }
  }

  /**
   * Holds the application's start until the first certificate, at most {@code
   * jmesh.identity.wait.ms} from {@code startNanos}: a workload that serves before it has an
   * identity refuses every mesh connection. Bounded, because the application must start even
   * when the CA cannot be reached or refuses the token.
   */
  private static void awaitIdentity(AgentConfig config, IdentityManager identity, long startNanos) {
    long wait = config.identityWaitMillis();
    if (wait <= 0) {
      return;
    }
    long left = TimeUnit.MILLISECONDS.toNanos(wait) - (System.nanoTime() - startNanos);
    try {
      if (identity.awaitFirst(Duration.ofNanos(Math.max(0, left)))) {
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    String error = identity.lastError();
    AgentLog.warn(
        "identity " + identity.id() + ": no certificate within " + wait + " ms ("
            + AgentConfig.IDENTITY_WAIT_MS.property() + ")"
            + (error == null ? ", no answer from the CA yet" : ", last error: " + error)
            + "; the application starts now, and mesh TLS refuses connections until a certificate arrives");
  }

  private static String serviceName(AgentConfig config) {
    return config.service().isEmpty() ? "unknown" : config.service();
  }

  /**
   * Unique per JVM and readable in the controller's dump: {@code service.namespace~host~pid}, as
   * Istio names a sidecar {@code sidecar~ip~pod.namespace~domain}.
   */
  private static String nodeId(AgentConfig config) {
    // A pod's HOSTNAME is its name; elsewhere ask the resolver, which may be slow, once.
    String host = System.getenv("HOSTNAME");
    if (host == null || host.isBlank()) {
      try {
        host = java.net.InetAddress.getLocalHost().getHostName();
      } catch (java.io.IOException | RuntimeException e) {
        host = "localhost";
      }
    }
    return serviceName(config) + "." + config.namespace() + "~" + host + "~" + ProcessHandle.current().pid();
  }

  /** Applies one type instrumentation after checking that the type has what the advice needs. */
  private static final class ModuleTransformer implements AgentBuilder.Transformer {
    private final InstrumentationModule module;
    private final TypeInstrumentation type;
    private final HelperInjector helpers;
    private final Set<String> reported = ConcurrentHashMap.newKeySet();

    ModuleTransformer(InstrumentationModule module, TypeInstrumentation type, HelperInjector helpers) {
      this.module = module;
      this.type = type;
      this.helpers = helpers;
    }

    @Override
    public DynamicType.Builder<?> transform(
        DynamicType.Builder<?> builder,
        TypeDescription typeDescription,
        ClassLoader classLoader,
        JavaModule javaModule,
        ProtectionDomain protectionDomain) {
      for (TypeInstrumentation.AdviceBinding binding : type.adviceBindings()) {
        if (typeDescription.getDeclaredMethods().filter(binding.methods()).isEmpty()) {
          skip(typeDescription, classLoader, "it has no method matching " + binding.methods());
          return builder;
        }
      }
      try {
        helpers.injectInto(classLoader);
      } catch (Throwable t) {
        skip(typeDescription, classLoader, "its helper classes could not be injected: " + t);
        return builder;
      }
      for (TypeInstrumentation.AdviceBinding binding : type.adviceBindings()) {
        builder = builder.visit(Advice.to(binding.advice()).on(binding.methods()));
      }
      AgentLog.debug("wove " + module.name() + " into " + typeDescription.getName() + " in " + classLoader);
      return builder;
    }

    private void skip(TypeDescription typeDescription, ClassLoader loader, String why) {
      if (reported.add(typeDescription.getName() + "@" + System.identityHashCode(loader))) {
        AgentLog.warn(
            "instrumentation "
                + module.name()
                + " skipped for "
                + typeDescription.getName()
                + " in "
                + loader
                + ": "
                + why
                + " (supported: "
                + module.supportedVersions()
                + ")");
      }
    }
  }

  /** Logs weaving failures once per type; they leave the type unwoven, never broken. */
  private static final class ErrorListener extends AgentBuilder.Listener.Adapter {
    @Override
    public void onError(
        String typeName, ClassLoader classLoader, JavaModule module, boolean loaded, Throwable throwable) {
      AgentLog.warn("could not weave " + typeName + "; it stays unmeshed", throwable);
    }
  }

}
