package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.telemetry.MeshMetrics;
import io.jmesh.runtime.trace.Tracing;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.File;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Starts jmesh inside a workload JVM by composing its parts: reads the settings, registers the
 * {@link StartGate}, and on a background thread opens the admin endpoint ({@link AdminServer},
 * {@link Readiness}), starts the tracer ({@link TracingStarter}) and the runtime ({@link
 * RuntimeStarter}, which starts the identity and the inbound listener), installs the bridge hooks
 * and weaves every enabled instrumentation. Called reflectively by the launcher in the jar root,
 * inside the isolated agent class loader, once per JVM.
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
      // Names only: the modules' ByteBuddy matchers are built on jmesh-start, off this thread.
      for (String type : module.targetTypeNames()) {
        targets.add(type.replace('.', '/'));
      }
    }
    // Inbound capture: the hook is in the bridge from now on, and waits for the runtime's decision.
    BindCapture capture = null;
    if (!config.capture().on()) {
      AgentLog.debug("inbound capture off (" + AgentConfig.INBOUND_CAPTURE.property() + ")");
    } else if (!config.instrumentationEnabled(InboundCaptureModule.NAME)) {
      AgentLog.info("inbound capture disabled by " + AgentConfig.INSTRUMENTATION_DISABLED.property());
    } else if (!config.controllers().isEmpty()) {
      // Capture needs a mesh identity, which only controller mode gives: file mode does not weave
      // it (finishStart says so once started, off the application's thread).
      capture = new BindCapture(START_WAIT_MILLIS);
      BindCapture.setCurrent(capture);
      MeshBridge.install(capture);
    }
    StartGate gate =
        new StartGate(
            Set.copyOf(targets), capture != null ? InboundCaptureModule::isTarget : name -> false, START_WAIT_MILLIS);
    // A class that waits for the agent builds its advice meanwhile, on its own (waiting) thread.
    List<InstrumentationModule> gated = List.copyOf(modules);
    gate.whileWaiting(name -> Weaver.prepare(gated, name));
    inst.addTransformer(gate, true);
    BindCapture finalCapture = capture;
    // Controller mode: the xDS channel and the identity start now, in parallel with ByteBuddy.
    ControllerPrelude prelude = ControllerPrelude.begin(config);
    Thread starter =
        new Thread(() -> finishStart(inst, config, modules, gate, finalCapture, attached, start, prelude), "jmesh-start");
    starter.setDaemon(true); // No agent thread keeps a JVM alive.
    gate.starter(starter);
    if (capture != null) {
      capture.starter(starter);
    }
    starter.start();
    AgentLog.debug("premain returned after " + (System.nanoTime() - start) / 1_000_000 + " ms");
  }

  /**
   * The start, on {@code jmesh-start}: the admin endpoint, the tracer, the runtime (which in
   * controller mode holds until the controller and the CA answer, boundedly), the bridge, then the
   * weaving rules; the gate opens last, so that a class that waited is woven with the runtime in
   * force and the first call of an application that calls at once is meshed.
   */
  private static void finishStart(
      Instrumentation inst,
      AgentConfig config,
      List<InstrumentationModule> modules,
      StartGate gate,
      BindCapture capture,
      boolean attached,
      long start,
      ControllerPrelude prelude) {
    Weaver.warmUpInBackground(); // alongside the runtime's start, off the application's thread
    if (capture != null) {
      weaveCapture(inst, gate, capture);
    }
    ClassFileTransformer weaver = null;
    List<String> installed = new ArrayList<>();
    MeshRuntime runtime = null;
    Readiness readiness = new Readiness(config);
    // In controller mode the admin endpoint opens first, so that /live answers and /ready says what
    // is missing while the runtime waits for the controller and the CA. In file mode nothing waits:
    // it opens once the gate is open, off the path to the application's first call.
    boolean adminFirst = !config.controllers().isEmpty();
    // The registry (Micrometer and Prometheus, about 150 classes) builds on its own thread while
    // this one starts the tracer and reads the config file (SnakeYAML, about 160 classes): the
    // runtime needs both, and neither needs the other.
    FutureTask<Metrics> metricsTask = new FutureTask<>(() -> metrics(config));
    Thread metricsThread = new Thread(metricsTask, "jmesh-metrics");
    metricsThread.setDaemon(true); // No agent thread keeps a JVM alive.
    metricsThread.start();
    Metrics metrics = null;
    if (adminFirst) {
      metrics = awaitMetrics(metricsTask);
      openAdmin(config, metrics, readiness);
    }
    try {
      Tracing tracing = TracingStarter.start(config);
      RuntimeStarter.warmUpConfig(config);
      if (metrics == null) {
        metrics = awaitMetrics(metricsTask);
      }
      runtime = RuntimeStarter.start(
          config, metrics.meshMetrics(), tracing, nodeMetadata(), readiness, prelude);
      readiness.runtimeStarted(runtime);
      AgentLog.debug("runtime started at +" + (System.nanoTime() - start) / 1_000_000 + " ms");
      AgentContext context = new AgentContext(runtime, config, tracing);
      MeshCalls calls = new MeshCalls(runtime, context);
      Agent.set(context, calls);
      MeshBridge.install(calls);
      weaver = weaver(inst, modules, context, installed);
      AgentLog.debug("weaving rules built at +" + (System.nanoTime() - start) / 1_000_000 + " ms");
    } catch (Throwable t) {
      readiness.failed(t);
      AgentLog.error("agent failed to start; the application runs unmeshed", t);
    } finally {
      gate.open(weaver);
      if (!adminFirst) {
        openAdmin(config, metrics != null ? metrics : awaitMetrics(metricsTask), readiness);
      }
      // No decision by now (file mode, no controller, a failed start): binds are left alone.
      if (capture != null ? capture.off() : captureWanted(config)) {
        AgentLog.info("inbound capture off: this workload has no mesh identity (it needs controller mode"
            + " and " + AgentConfig.BOOTSTRAP_TOKEN.env() + "); the application's ports are left as it binds them");
      }
    }
    if (weaver == null) {
      return;
    }
    retransformLoadedTargets(inst, gate, gate::isTarget);
    readiness.started();
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
    // Start-up is over: hand back the C heap its class loading and compilation freed, now and
    // once more when the compiler and the JVM's arena pool have let go of theirs.
    NativeHeapTrim.trimAndLog(inst, "after start-up");
    NativeHeapTrim.trimLater(inst, NativeHeapTrim.LATER_MILLIS);
  }

  /** Whether the settings ask for inbound capture (it also needs a mesh identity). */
  private static boolean captureWanted(AgentConfig config) {
    return config.capture().on() && config.instrumentationEnabled(InboundCaptureModule.NAME);
  }

  /**
   * Weaves inbound capture before anything else on this thread: the admin endpoint and the mesh
   * listener bind through the same JDK class, and a class loaded unwoven here would let an
   * application bind through unseen until it is retransformed. Never throws: without it, capture
   * is off and the application binds as it asked.
   */
  private static void weaveCapture(Instrumentation inst, StartGate gate, BindCapture capture) {
    try {
      ClassFileTransformer early = weaver(inst, List.of(new InboundCaptureModule()), null, new ArrayList<>());
      gate.openEarly(early);
      retransformLoadedTargets(inst, gate, gate::isEarlyTarget);
    } catch (Throwable t) {
      gate.openEarly(null);
      capture.off();
      AgentLog.warn("inbound capture is off: its weaving failed", t);
    }
  }

  /** The transformer for every enabled module; the gate is its only caller. */
  private static ClassFileTransformer weaver(
      Instrumentation inst, List<InstrumentationModule> modules, AgentContext context, List<String> installed) {
    return Weaver.of(
        inst, modules, context, MeshBridge.class.getModule(), AgentInstaller.class.getClassLoader(), installed);
  }

  /**
   * Weaves targets that loaded before the gate existed (the agent was attached to a running JVM,
   * or another agent used an HTTP client first) or passed it unwoven; not those the gate's weaver
   * already saw as they loaded.
   */
  private static void retransformLoadedTargets(
      Instrumentation inst, StartGate gate, java.util.function.Predicate<String> isTarget) {
    List<Class<?>> loaded = new ArrayList<>();
    for (Class<?> c : inst.getAllLoadedClasses()) {
      if (isTarget.test(c.getName()) && inst.isModifiableClass(c) && !gate.wovenAtLoad(c)) {
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

  /** The admin endpoint, while there is one: its port goes to the controller. */
  private static volatile AdminServer admin;

  /** The registry the runtime records into (null when it could not start) and its meters. */
  private record Metrics(PrometheusMeterRegistry registry, MeshMetrics meshMetrics) {}

  /**
   * Creates the Prometheus registry the runtime records into. Never throws: without it the
   * application runs, and the metrics go nowhere.
   */
  private static Metrics metrics(AgentConfig config) {
    try {
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      return new Metrics(
          registry, new MeshMetrics(registry, RuntimeStarter.serviceName(config) + "." + config.namespace()));
    } catch (Throwable t) {
      AgentLog.warn("metrics are off: the Prometheus registry could not start", t);
      return new Metrics(null, MeshMetrics.noop());
    }
  }

  /**
   * The registry built on {@code jmesh-metrics}. {@link #metrics} never throws, so this waits
   * for it to finish (bounded like the gate); the no-op metrics if it cannot be had.
   */
  private static Metrics awaitMetrics(FutureTask<Metrics> task) {
    try {
      return task.get(START_WAIT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      AgentLog.warn("metrics are off: interrupted while the Prometheus registry started");
    } catch (ExecutionException | TimeoutException e) {
      AgentLog.warn("metrics are off: the Prometheus registry did not start within " + START_WAIT_MILLIS + " ms", e);
    }
    return new Metrics(null, MeshMetrics.noop());
  }

  /** Opens the admin endpoint on the registry. Never throws: without it the application runs. */
  private static void openAdmin(AgentConfig config, Metrics metrics, Readiness readiness) {
    if (config.adminPort() == 0 || metrics.registry() == null) {
      return;
    }
    admin =
        AdminServer.start(
            config.adminAddress(),
            config.adminPort(),
            metrics.registry(),
            metrics.meshMetrics().tap(),
            readiness::runtime,
            readiness::missing);
    if (admin != null) {
      AgentLog.info(
          "admin endpoint on http://" + config.adminAddress() + ":" + admin.port()
              + " (/metrics, /ready, /live; /config, /endpoints and /tap from loopback)");
    }
  }

  /**
   * What the controller shows of this agent beyond its name: the admin port, so that the {@code
   * jmesh} CLI can find every agent's /metrics and /tap through the controller's /agents.
   */
  private static Map<String, String> nodeMetadata() {
    AdminServer a = admin;
    return a == null ? Map.of() : Map.of("jmesh.admin.port", Integer.toString(a.port()));
  }
}
