package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.IllegalClassFormatException;
import java.security.ProtectionDomain;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The agent's only class-file transformer. It is registered in {@code premain} within
 * milliseconds, while the runtime and ByteBuddy start on a background thread, so the agent's
 * start-up overlaps the application's own. A class that must be woven waits here until the agent
 * is ready (bounded), then goes to ByteBuddy; every other class passes at the cost of one hash
 * lookup.
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

  StartGate(Set<String> internalNames, long waitMillis) {
    this.internalNames = internalNames;
    this.waitMillis = waitMillis;
  }

  /** The thread that starts the agent: it never waits on itself. */
  void starter(Thread thread) {
    this.starter = thread;
  }

  /** Lets waiting and later classes through to {@code weaver}, or unwoven when it is null. */
  void open(ClassFileTransformer weaver) {
    this.delegate = weaver;
    ready.countDown();
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
    if (className == null || !internalNames.contains(className) || !awaitReady(className)) {
      return null;
    }
    ClassFileTransformer weaver = delegate;
    return weaver == null
        ? null
        : weaver.transform(module, loader, className, classBeingRedefined, protectionDomain, classfileBuffer);
  }

  private boolean awaitReady(String className) {
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
