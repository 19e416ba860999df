package io.jmesh.agent.tooling;

import static net.bytebuddy.matcher.ElementMatchers.isSynthetic;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;

import io.jmesh.bridge.AgentLog;
import io.jmesh.bridge.MeshBridge;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.RuntimeLog;
import java.io.File;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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

  public static void install(Instrumentation inst, String args, boolean attached, File jar) {
    long start = System.nanoTime();
    AgentConfig config = AgentConfig.fromSystem();
    AgentLog.setLevel(config.logLevel());
    config.problems().forEach(AgentLog::warn);
    RuntimeLog.setSink(AgentInstaller::runtimeLog);

    MeshRuntime runtime = startRuntime(config);
    AgentLog.debug("runtime started at +" + (System.nanoTime() - start) / 1_000_000 + " ms");
    AgentContext context = new AgentContext(runtime, config);
    MeshCalls calls = new MeshCalls(runtime, context);
    Agent.set(context, calls);
    MeshBridge.install(calls);

    AgentBuilder builder =
        new AgentBuilder.Default()
            .disableClassFormatChanges()
            .with(redefinitionStrategy(inst, agentLoaderModules()))
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

    List<String> installed = new ArrayList<>();
    ClassLoader agentLoader = AgentInstaller.class.getClassLoader();
    for (InstrumentationModule module : ServiceLoader.load(InstrumentationModule.class, agentLoader)) {
      if (!config.instrumentationEnabled(module.name())) {
        AgentLog.info("instrumentation " + module.name() + " disabled by " + AgentConfig.INSTRUMENTATION_DISABLED.property());
        continue;
      }
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
    AgentLog.debug("weaving rules built at +" + (System.nanoTime() - start) / 1_000_000 + " ms");
    builder.installOn(inst);

    AgentLog.info(
        "agent started"
            + (attached ? " (attached)" : "")
            + ": service="
            + (config.service().isEmpty() ? "-" : config.service())
            + " namespace="
            + config.namespace()
            + " mode="
            + (config.configFile() == null ? "none (set JMESH_CONFIG)" : "file " + config.configFile())
            + " instrumentations="
            + installed
            + " in "
            + (System.nanoTime() - start) / 1_000_000
            + " ms");
  }

  /** Every type instrumentation of every module, to decide before weaving whether any is loaded. */
  private static List<TypeInstrumentation> agentLoaderModules() {
    List<TypeInstrumentation> all = new ArrayList<>();
    for (InstrumentationModule m :
        ServiceLoader.load(InstrumentationModule.class, AgentInstaller.class.getClassLoader())) {
      all.addAll(m.typeInstrumentations());
    }
    return all;
  }

  /**
   * Retransforms already loaded classes only when one of them is a target (the agent was attached
   * late, or another agent used an HTTP client first): walking every loaded class costs startup
   * time that most JVMs need not pay.
   */
  private static AgentBuilder.RedefinitionStrategy redefinitionStrategy(
      Instrumentation inst, List<TypeInstrumentation> types) {
    for (Class<?> loaded : inst.getAllLoadedClasses()) {
      String name = loaded.getName();
      if (name.startsWith("[") || name.startsWith("io.jmesh.")) {
        continue;
      }
      for (TypeInstrumentation type : types) {
        if (type.typeMatcher().matches(TypeDescription.ForLoadedType.of(loaded))) {
          AgentLog.debug(name + " is already loaded: retransforming");
          return AgentBuilder.RedefinitionStrategy.RETRANSFORMATION;
        }
      }
    }
    return AgentBuilder.RedefinitionStrategy.DISABLED;
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

  private static MeshRuntime startRuntime(AgentConfig config) {
    MeshRuntime.Options options = new MeshRuntime.Options(config.namespace(), config.clusterDomain());
    if (config.configFile() == null) {
      AgentLog.warn("no mesh config: set JMESH_CONFIG (file mode); every call goes on unmeshed");
      return MeshRuntime.of(io.jmesh.runtime.config.MeshSnapshot.empty(), options);
    }
    ScheduledExecutorService scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "jmesh-config-watch");
              t.setDaemon(true); // No agent thread keeps a JVM alive.
              return t;
            });
    return MeshRuntime.fileMode(config.configFile(), options, scheduler, config.configPollMillis());
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
