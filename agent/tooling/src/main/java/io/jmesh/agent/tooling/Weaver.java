package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import net.bytebuddy.ByteBuddy;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.implementation.Implementation;
import net.bytebuddy.pool.TypePool;

/**
 * Weaves the advice of the enabled instrumentations into one class as it loads (or is
 * retransformed). The {@link StartGate} is its only caller and hands it only classes whose names
 * are targets, so a class is described (a {@link TypePool} over its own bytes and its loader) only
 * when it is about to be woven.
 *
 * <p>Why not ByteBuddy's {@code AgentBuilder}: building one costs about 1 s of one core on the
 * start-up path (it generates and injects a transformer class, and loads some 360 classes more
 * than weaving itself needs), for matching and listener machinery the gate already does.
 *
 * <p>Thread-safety: {@link #transform} runs on any class-loading thread, concurrently; the
 * instances it shares are immutable, and the per-type transformers keep only concurrent sets.
 */
final class Weaver implements ClassFileTransformer {
  /** One type instrumentation of one module. */
  private record Rule(InstrumentationModule module, TypeInstrumentation type, HelperInjector helpers) {}

  private final List<Rule> rules;
  private final Instrumentation inst;
  private final Module bridgeModule;
  private final Set<String> reported = ConcurrentHashMap.newKeySet();

  private Weaver(List<Rule> rules, Instrumentation inst, Module bridgeModule) {
    this.rules = rules;
    this.inst = inst;
    this.bridgeModule = bridgeModule;
  }

  /**
   * Installs every module's bridge hooks ({@link InstrumentationModule#install}) and returns the
   * weaver of those that installed; their names go to {@code installed}.
   *
   * @param bridgeModule the module that woven code must read (the bridge's, on the bootstrap path)
   */
  static Weaver of(
      Instrumentation inst,
      List<InstrumentationModule> modules,
      AgentContext context,
      Module bridgeModule,
      ClassLoader agentLoader,
      List<String> installed) {
    List<Rule> rules = new ArrayList<>();
    for (InstrumentationModule module : modules) {
      try {
        module.install(context);
      } catch (Throwable t) {
        AgentLog.error("instrumentation " + module.name() + " failed to install; skipped", t);
        continue;
      }
      HelperInjector helpers = new HelperInjector(module.name(), module.helperClassNames(), agentLoader, inst);
      List<String> gated = module.targetTypeNames();
      for (TypeInstrumentation type : module.typeInstrumentations()) {
        if (!gated.contains(type.typeName())) {
          // The gate hands the weaver only the classes it was told of in premain.
          AgentLog.warn("instrumentation " + module.name() + " weaves " + type.typeName()
              + " but its targetTypeNames " + gated + " do not name it: it is never woven");
        }
        rules.add(new Rule(module, type, helpers));
      }
      installed.add(module.name());
    }
    return new Weaver(List.copyOf(rules), inst, bridgeModule);
  }

  /**
   * Weaves a class of the agent's own, once, on a daemon thread {@code jmesh-weave-warmup}, so that
   * the ByteBuddy classes weaving needs (about 600: type pool, advice, class writer) are loaded
   * while the runtime starts on the start thread, not later on the application's thread that
   * loads the first class to weave, which waits for them. Costs that thread about 30 ms of CPU
   * more than it saves; never throws, and a failure changes nothing but the timing.
   */
  static void warmUpInBackground() {
    Thread t =
        new Thread(
            () -> {
              try {
                String name = WarmUpTarget.class.getName();
                ClassFileLocator locator = ClassFileLocator.ForClassLoader.of(Weaver.class.getClassLoader());
                TypeDescription type = lazyPool(locator).describe(name).resolve();
                Shared.BYTE_BUDDY
                    .decorate(type, locator)
                    .visit(Advice.to(WarmUpAdvice.class).on(net.bytebuddy.matcher.ElementMatchers.named("call")))
                    .make()
                    .getBytes();
              } catch (Throwable e) {
                AgentLog.debug("weaving warm-up failed (timing only): " + e);
              }
            },
            "jmesh-weave-warmup");
    t.setDaemon(true); // No agent thread keeps a JVM alive.
    t.start();
  }

  /**
   * Builds the {@link Advice} that weaving {@code internalName} will need, on the application's
   * thread that waits at the start gate for that class: the wait then does the weaving's slowest
   * part (each advice class is read reflectively: 50-250 ms, most for OkHttp's), which only a
   * class the application really loads pays for. Never throws; a failure changes nothing but the
   * timing (the weaving builds what is missing).
   */
  static void prepare(List<InstrumentationModule> modules, String internalName) {
    String name = internalName.replace('/', '.');
    for (InstrumentationModule module : modules) {
      if (!module.targetTypeNames().contains(name)) {
        continue;
      }
      try {
        for (TypeInstrumentation type : module.typeInstrumentations()) {
          if (type.typeName().equals(name)) {
            for (TypeInstrumentation.AdviceBinding binding : type.adviceBindings()) {
              advice(binding.advice());
            }
          }
        }
      } catch (Throwable e) {
        AgentLog.debug("advice of " + module.name() + " for " + name + " not prepared (timing only): " + e);
      }
    }
  }

  /** Advice built once per advice class, by the warm-up or the first weave that needs it. */
  private static final Map<Class<?>, Advice> ADVICE = new ConcurrentHashMap<>();

  /** The advice of {@code adviceClass}; immutable, so one instance serves every type and thread. */
  private static Advice advice(Class<?> adviceClass) {
    return ADVICE.computeIfAbsent(adviceClass, Advice::to);
  }

  /**
   * What the warm-up weaves: shaped like the clients' hooks (arguments, a result, a throwable),
   * with generic signatures as library classes have, so that the type pool's signature readers
   * load here too.
   */
  static final class WarmUpTarget<T extends Comparable<? super T>> {
    java.util.Map<String, java.util.List<T>> byName;

    <R extends T> java.util.List<? extends R> first(java.util.List<R>[] lists) {
      return lists.length == 0 ? null : lists[0];
    }

    Object call(Object request, int attempt) throws java.io.IOException {
      return attempt > 0 ? request : null;
    }
  }

  /** The warm-up's advice, with the annotations the real advice uses. */
  static final class WarmUpAdvice {
    @Advice.OnMethodEnter(suppress = Throwable.class, skipOn = Advice.OnNonDefaultValue.class)
    static Object enter(@Advice.Argument(0) Object request, @Advice.This Object self) {
      return null;
    }

    @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
    static void exit(
        @Advice.Enter Object entered,
        @Advice.Return(readOnly = false, typing = net.bytebuddy.implementation.bytecode.assign.Assigner.Typing.DYNAMIC) Object result,
        @Advice.Thrown(readOnly = false) Throwable thrown) {
      if (entered != null) {
        result = entered;
        thrown = null;
      }
    }
  }

  /** Initialized on first use (the warm-up thread), not on the thread that loads {@code Weaver}. */
  private static final class Shared {
    // Without class format changes: no new fields, methods or initializers, so retransformation
    // (which forbids them) and load-time weaving produce the same class.
    static final ByteBuddy BYTE_BUDDY = new ByteBuddy().with(Implementation.Context.Disabled.Factory.INSTANCE);
  }

  /** A pool that reads a supertype or a parameter type only if a matcher asks about it. */
  private static TypePool lazyPool(ClassFileLocator locator) {
    return new TypePool.Default.WithLazyResolution(
        new TypePool.CacheProvider.Simple(), locator, TypePool.Default.ReaderMode.FAST);
  }

  @Override
  public byte[] transform(
      Module module,
      ClassLoader loader,
      String className,
      Class<?> classBeingRedefined,
      ProtectionDomain protectionDomain,
      byte[] classfileBuffer) {
    if (className == null) {
      return null;
    }
    String name = className.replace('/', '.');
    // Never weave ourselves (the relocated Netty has a Socket the capture pattern would match).
    if (name.startsWith("io.jmesh.")) {
      return null;
    }
    try {
      ClassFileLocator locator =
          new ClassFileLocator.Compound(
              ClassFileLocator.Simple.of(name, classfileBuffer), ClassFileLocator.ForClassLoader.of(loader));
      TypeDescription type = lazyPool(locator).describe(name).resolve();
      if (type.isSynthetic()) {
        return null;
      }
      DynamicType.Builder<?> builder = null;
      for (Rule rule : rules) {
        if (!rule.type().typeMatcher().matches(type)) {
          continue;
        }
        if (builder == null) {
          // Decorate: visitors only, the class keeps its members as they are.
          builder = Shared.BYTE_BUDDY.decorate(type, locator);
        }
        builder = apply(rule, builder, type, loader);
      }
      if (builder == null) {
        return null;
      }
      byte[] woven = builder.make().getBytes();
      // Woven JDK modules (java.base, java.net.http) must read the bridge's module.
      if (module != null && module.isNamed() && !module.canRead(bridgeModule)) {
        inst.redefineModule(module, Set.of(bridgeModule), Map.of(), Map.of(), Set.of(), Map.of());
      }
      return woven;
    } catch (Throwable t) {
      AgentLog.warn("could not weave " + name + "; it stays unmeshed", t);
      return null;
    }
  }

  /** Applies one type instrumentation after checking that the type has what the advice needs. */
  private DynamicType.Builder<?> apply(
      Rule rule, DynamicType.Builder<?> builder, TypeDescription type, ClassLoader loader) {
    for (TypeInstrumentation.AdviceBinding binding : rule.type().adviceBindings()) {
      if (type.getDeclaredMethods().filter(binding.methods()).isEmpty()) {
        skip(rule, type, loader, "it has no method matching " + binding.methods());
        return builder;
      }
    }
    try {
      rule.helpers().injectInto(loader);
    } catch (Throwable t) {
      skip(rule, type, loader, "its helper classes could not be injected: " + t);
      return builder;
    }
    for (TypeInstrumentation.AdviceBinding binding : rule.type().adviceBindings()) {
      builder = builder.visit(advice(binding.advice()).on(binding.methods()));
    }
    AgentLog.debug("wove " + rule.module().name() + " into " + type.getName() + " in " + loader);
    return builder;
  }

  private void skip(Rule rule, TypeDescription type, ClassLoader loader, String why) {
    if (reported.add(rule.module().name() + " " + type.getName() + "@" + System.identityHashCode(loader))) {
      AgentLog.warn(
          "instrumentation "
              + rule.module().name()
              + " skipped for "
              + type.getName()
              + " in "
              + loader
              + ": "
              + why
              + " (supported: "
              + rule.module().supportedVersions()
              + ")");
    }
  }
}
