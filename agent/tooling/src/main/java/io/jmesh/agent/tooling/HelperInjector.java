package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import java.lang.instrument.Instrumentation;
import java.lang.reflect.Method;
import java.security.ProtectionDomain;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import net.bytebuddy.dynamic.ClassFileLocator;
import net.bytebuddy.dynamic.loading.ClassInjector;

/**
 * Defines an instrumentation's helper classes in the class loader of the library it instruments,
 * once per loader. Helpers implement the library's interfaces (an OkHttp {@code Interceptor}), so
 * they must live beside the library; they talk to the runtime only through the bridge.
 *
 * <p>It calls {@code ClassLoader.defineClass} reflectively, after opening {@code java.lang} to the
 * agent's module through {@link Instrumentation#redefineModule}: ByteBuddy's {@code ClassInjector}
 * does the same, but first generates and loads a class of its own (some 300 ByteBuddy classes,
 * 100-200 ms on the application's thread that loads OkHttp). Where that opening fails, it falls
 * back to ByteBuddy's injector.
 *
 * <p>Thread-safety: {@link #injectInto} is synchronized per instance (one per module).
 */
final class HelperInjector {
  private final String module;
  private final List<String> helperNames;
  private final ClassFileLocator agentClasses;
  private final Instrumentation inst;
  private final Set<ClassLoader> injected = Collections.newSetFromMap(new WeakHashMap<>());

  HelperInjector(String module, List<String> helperNames, ClassLoader agentLoader, Instrumentation inst) {
    this.module = module;
    this.helperNames = helperNames;
    this.agentClasses = ClassFileLocator.ForClassLoader.of(agentLoader);
    this.inst = inst;
  }

  /** Injects the helpers into {@code target} unless done before. Throws if it cannot. */
  synchronized void injectInto(ClassLoader target) throws Exception {
    if (helperNames.isEmpty() || target == null || injected.contains(target)) {
      return;
    }
    Map<String, byte[]> types = new LinkedHashMap<>();
    for (String name : helperNames) {
      ClassFileLocator.Resolution resolution = agentClasses.locate(name);
      if (!resolution.isResolved()) {
        throw new IllegalStateException(module + ": helper class " + name + " is missing from the agent jar");
      }
      types.put(name, resolution.resolve());
    }
    Method[] define = DefineClass.methods(inst);
    if (define != null) {
      defineAll(target, types, define);
    } else {
      ClassInjector injector =
          ClassInjector.UsingReflection.isAvailable()
              ? new ClassInjector.UsingReflection(target)
              : new ClassInjector.UsingUnsafe(target);
      injector.injectRaw(types);
    }
    injected.add(target);
  }

  /**
   * Defines {@code types} in {@code target} in their order, under the loader's lock, skipping a
   * class it already has (an earlier attempt that failed half-way).
   */
  private static void defineAll(ClassLoader target, Map<String, byte[]> types, Method[] define) throws Exception {
    for (Map.Entry<String, byte[]> type : types.entrySet()) {
      byte[] bytes = type.getValue();
      // The lock loadClass takes for this name: the loader itself unless it is parallel capable.
      synchronized (define[2].invoke(target, type.getKey())) {
        if (define[0].invoke(target, type.getKey()) == null) {
          define[1].invoke(target, type.getKey(), bytes, 0, bytes.length, (ProtectionDomain) null);
        }
      }
    }
  }

  /** {@code ClassLoader}'s findLoadedClass, defineClass and getClassLoadingLock, opened once. */
  private static final class DefineClass {
    private static volatile Method[] methods;
    private static volatile boolean failed;

    /** The three methods, or null when {@code java.lang} could not be opened to the agent. */
    static synchronized Method[] methods(Instrumentation inst) {
      if (methods != null || failed) {
        return methods;
      }
      try {
        Module agent = HelperInjector.class.getModule();
        Module base = Object.class.getModule();
        if (!base.isOpen("java.lang", agent)) {
          inst.redefineModule(base, Set.of(), Map.of(), Map.of("java.lang", Set.of(agent)), Set.of(), Map.of());
        }
        Method findLoaded = ClassLoader.class.getDeclaredMethod("findLoadedClass", String.class);
        Method define = ClassLoader.class.getDeclaredMethod(
            "defineClass", String.class, byte[].class, int.class, int.class, ProtectionDomain.class);
        Method lock = ClassLoader.class.getDeclaredMethod("getClassLoadingLock", String.class);
        findLoaded.setAccessible(true);
        define.setAccessible(true);
        lock.setAccessible(true);
        methods = new Method[] {findLoaded, define, lock};
      } catch (Throwable t) {
        failed = true;
        AgentLog.debug("helper injection through ClassLoader.defineClass is unavailable (" + t
            + "); using ByteBuddy's class injector");
      }
      return methods;
    }
  }
}
