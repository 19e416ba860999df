package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.IllegalClassFormatException;
import java.security.ProtectionDomain;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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
  private volatile boolean timedOut;
  // Inbound capture's types: woven by their own weaver as soon as it exists, before the agent
  // binds anything itself (see AgentInstaller), so that no application bind slips through unseen.
  private final Predicate<String> earlyTargets;
  private final CountDownLatch earlyReady = new CountDownLatch(1);
  private volatile ClassFileTransformer earlyDelegate;

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
      ClassFileTransformer early = awaitReady(earlyReady, className) ? earlyDelegate : null;
      return early == null
          ? null
          : early.transform(module, loader, className, classBeingRedefined, protectionDomain, classfileBuffer);
    }
    if (className == null || !internalNames.contains(className) || !awaitReady(ready, className)) {
      return null;
    }
    ClassFileTransformer weaver = delegate;
    return weaver == null
        ? null
        : weaver.transform(module, loader, className, classBeingRedefined, protectionDomain, classfileBuffer);
  }

  private boolean awaitReady(CountDownLatch ready, String className) {
    if (ready.getCount() == 0) {
      return true;
    }
    if (Thread.currentThread() == starter || timedOut) {
      return false;
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
