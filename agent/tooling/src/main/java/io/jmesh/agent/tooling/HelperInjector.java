package io.jmesh.agent.tooling;

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
 */
final class HelperInjector {
  private final String module;
  private final List<String> helperNames;
  private final ClassFileLocator agentClasses;
  private final Set<ClassLoader> injected = Collections.newSetFromMap(new WeakHashMap<>());

  HelperInjector(String module, List<String> helperNames, ClassLoader agentLoader) {
    this.module = module;
    this.helperNames = helperNames;
    this.agentClasses = ClassFileLocator.ForClassLoader.of(agentLoader);
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
    ClassInjector injector =
        ClassInjector.UsingReflection.isAvailable()
            ? new ClassInjector.UsingReflection(target)
            : new ClassInjector.UsingUnsafe(target);
    injector.injectRaw(types);
    injected.add(target);
  }
}
