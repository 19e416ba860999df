package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.IllegalClassFormatException;
import java.security.ProtectionDomain;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The agent's only class-file transformer. It is registered in {@code premain} within
 * milliseconds, while the runtime and ByteBuddy start on a background thread, so the agent's
 * start-up overlaps the application's own. A class that must be woven waits here until the agent
 * is ready (bounded), then goes to the {@link Weaver}; every other class passes at the cost of
 * one hash lookup.
 *
 * <p>Thread-safety: {@link #transform} runs on any class-loading thread; {@link #open} once.
 */
final class StartGate implements ClassFileTransformer {
  private final Set<String> internalNames;
  private final long waitMillis;
  private final CountDownLatch ready = new CountDownLatch(1);
  private volatile ClassFileTransformer delegate;
  private volatile Thread starter;
  private volatile Consumer<String> whileWaiting = name -> {};
  private volatile boolean timedOut;
  // Inbound capture's types: woven by their own weaver as soon as it exists, before the agent
  // binds anything itself (see AgentInstaller), so that no application bind slips through unseen.
  private final Predicate<String> earlyTargets;
  private final CountDownLatch earlyReady = new CountDownLatch(1);
  private volatile ClassFileTransformer earlyDelegate;
  // Targets handed to a weaver as they loaded, by loader (BOOT for the bootstrap loader): the
  // retransformation of targets loaded before the gate opened skips them, rather than weave the
  // class a second time on the start thread while the application's thread runs.
  private final WeakIdentityMap<Object, Set<String>> wovenAtLoad = new WeakIdentityMap<>();
  private static final Object BOOT = new Object();

  StartGate(Set<String> internalNames, long waitMillis) {
    this(internalNames, name -> false, waitMillis);
  }

  /**
   * @param earlyTargets internal names (slashes) woven by the early weaver ({@link #openEarly})
   */
  StartGate(Set<String> internalNames, Predicate<String> earlyTargets, long waitMillis) {
    this.internalNames = internalNames;
    this.earlyTargets = earlyTargets;
    this.waitMillis = waitMillis;
  }

  /** Lets the early targets through to {@code weaver} (or unwoven when it is null). */
  void openEarly(ClassFileTransformer weaver) {
    this.earlyDelegate = weaver;
    earlyReady.countDown();
  }

  boolean isEarlyTarget(String binaryName) {
    return earlyTargets.test(binaryName.replace('.', '/'));
  }

  /**
   * Work a class to weave does on its own thread before it waits for the agent (given its
   * internal name): what weaving it will need, built while the thread would idle. Must not throw.
   */
  void whileWaiting(Consumer<String> work) {
    this.whileWaiting = work;
  }

  /** The thread that starts the agent: it never waits on itself. */
  void starter(Thread thread) {
    this.starter = thread;
  }

  /** Lets waiting and later classes through to {@code weaver}, or unwoven when it is null. */
  void open(ClassFileTransformer weaver) {
    this.delegate = weaver;
    ready.countDown();
    earlyReady.countDown(); // an agent that failed before its early weaver: nothing waits for it
  }

  boolean isTarget(String binaryName) {
    return internalNames.contains(binaryName.replace('.', '/'));
  }

  /** The JVM calls this variant; the one without a module keeps its default (no change). */
  @Override
  public byte[] transform(
      Module module,
      ClassLoader loader,
      String className,
      Class<?> classBeingRedefined,
      ProtectionDomain protectionDomain,
      byte[] classfileBuffer)
      throws IllegalClassFormatException {
    if (className != null && earlyTargets.test(className)) {
      ClassFileTransformer early = awaitReady(earlyReady, className, name -> {}) ? earlyDelegate : null;
      return early == null
          ? null
          : weave(early, module, loader, className, classBeingRedefined, protectionDomain, classfileBuffer);
    }
    if (className == null || !internalNames.contains(className) || !awaitReady(ready, className, whileWaiting)) {
      return null;
    }
    ClassFileTransformer weaver = delegate;
    return weaver == null
        ? null
        : weave(weaver, module, loader, className, classBeingRedefined, protectionDomain, classfileBuffer);
  }

  private byte[] weave(
      ClassFileTransformer weaver,
      Module module,
      ClassLoader loader,
      String className,
      Class<?> classBeingRedefined,
      ProtectionDomain protectionDomain,
      byte[] classfileBuffer)
      throws IllegalClassFormatException {
    byte[] woven = weaver.transform(module, loader, className, classBeingRedefined, protectionDomain, classfileBuffer);
    if (classBeingRedefined == null) {
      // Recorded before the class is defined, so a class that getAllLoadedClasses lists is here.
      Object key = loader == null ? BOOT : loader;
      synchronized (wovenAtLoad) {
        Set<String> names = wovenAtLoad.get(key);
        if (names == null) {
          names = ConcurrentHashMap.newKeySet();
          wovenAtLoad.put(key, names);
        }
        names.add(className);
      }
    }
    return woven;
  }

  /**
   * Whether {@code c} went through a weaver as it loaded (the one it had then: woven, or left as
   * it was for a reason that retransforming would meet again), so needs no retransformation.
   */
  boolean wovenAtLoad(Class<?> c) {
    ClassLoader loader = c.getClassLoader();
    Set<String> names;
    synchronized (wovenAtLoad) {
      names = wovenAtLoad.get(loader == null ? BOOT : loader);
    }
    return names != null && names.contains(c.getName().replace('.', '/'));
  }

  private boolean awaitReady(CountDownLatch ready, String className, Consumer<String> meanwhile) {
    if (ready.getCount() == 0) {
      return true;
    }
    if (Thread.currentThread() == starter || timedOut) {
      return false;
    }
    try {
      meanwhile.accept(className);
    } catch (Throwable t) {
      AgentLog.debug("work while " + className + " waits failed (timing only): " + t);
    }
    try {
      if (ready.await(waitMillis, TimeUnit.MILLISECONDS)) {
        return true;
      }
      timedOut = true;
      AgentLog.warn(
          "agent not ready after " + waitMillis + " ms when " + className.replace('/', '.')
              + " loaded; it stays unmeshed (a slow start-up, see the lines above)");
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
