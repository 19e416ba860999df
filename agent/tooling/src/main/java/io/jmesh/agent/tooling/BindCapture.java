package io.jmesh.agent.tooling;

import io.jmesh.bridge.AgentLog;
import io.jmesh.bridge.ServerBindHook;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Inbound capture at the application's server-socket bind: applies {@link CaptureRules} to each
 * bind the woven JDK and Netty classes report ({@link InboundCaptureModule}), moves a captured
 * bind to 127.0.0.1, and once it succeeded has {@link Listeners} put the mesh listener on the port
 * on the workload's addresses. Binds by the agent itself ({@link AgentBinds}) are never touched.
 *
 * <p>The hook is in the bridge from the start of the agent, before the runtime knows whether this
 * workload has a mesh identity: until {@link #start} or {@link #off} decides, an application bind
 * waits (bounded, like a class that waits at the {@link StartGate}), so that no port is bound on
 * the workload's addresses while the decision is pending. After the wait, or on the agent's start
 * thread, the bind is left alone. Thread-safe: binds run on any thread.
 */
final class BindCapture implements ServerBindHook {
  /** Opens the mesh listener for a captured port. */
  interface Listeners {
    /**
     * Listens on {@code port} of each of {@code addresses}, forwarding to {@code 127.0.0.1:port};
     * returns the listener to close with the application's socket, or {@code null} when no
     * address could be bound (logged). Never throws.
     */
    AutoCloseable listen(List<InetAddress> addresses, int port);
  }

  private static volatile BindCapture current;

  private final long waitMillis;
  private final CountDownLatch decided = new CountDownLatch(1);
  private final WeakIdentityMap<Object, AutoCloseable> listening = new WeakIdentityMap<>();
  private volatile Thread starter;
  private volatile CaptureRules rules; // null: off
  private volatile Listeners listeners;
  private volatile boolean timedOut;

  BindCapture(long waitMillis) {
    this.waitMillis = waitMillis;
  }

  /** The capture woven into this JVM, or {@code null} when it is off. */
  static BindCapture current() {
    return current;
  }

  static void setCurrent(BindCapture capture) {
    current = capture;
  }

  /** The agent's start thread: it never waits for itself. */
  void starter(Thread thread) {
    this.starter = thread;
  }

  /** Captures from now on by {@code r}. */
  synchronized void start(CaptureRules r, Listeners l) {
    this.listeners = l;
    this.rules = r;
    decided.countDown();
  }

  /**
   * Decides "no capture" unless {@link #start} came first; idempotent.
   *
   * @return whether this call made the decision (nothing had decided before)
   */
  synchronized boolean off() {
    boolean undecided = decided.getCount() > 0;
    decided.countDown();
    return undecided;
  }

  boolean capturing() {
    return decided.getCount() == 0 && rules != null;
  }

  @Override
  public SocketAddress bindAddress(Object socket, SocketAddress requested) {
    if (AgentBinds.isAgentBind(requested)) {
      return null;
    }
    CaptureRules r = awaitRules(requested);
    if (r == null || r.listenAddresses(requested).isEmpty() || !isServerSocket(socket)) {
      return null;
    }
    return CaptureRules.applicationAddress(requested);
  }

  @Override
  public void bound(Object socket, SocketAddress requested, Throwable thrown) {
    if (thrown != null) {
      return; // the application's own failure (address in use): it sees it as it would unmeshed
    }
    CaptureRules r = rules;
    int port = localPort(socket);
    if (r == null || port <= 0) {
      return;
    }
    AutoCloseable listener = listeners.listen(r.listenAddresses(requested), port);
    if (listener != null) {
      listening.put(socket, listener);
    }
  }

  @Override
  public void closed(Object socket) {
    AutoCloseable listener = listening.remove(socket);
    if (listener == null) {
      return;
    }
    // Closing the listener waits for its event loops: never on the application's thread, which
    // may be an event loop of its own.
    Thread t =
        new Thread(
            () -> {
              try {
                listener.close();
              } catch (Exception e) {
                AgentLog.warn("inbound capture: closing the mesh listener failed: " + e);
              }
            },
            "jmesh-capture-close");
    t.setDaemon(true);
    t.start();
  }

  /** Sockets whose mesh listener is open now (for tests). */
  int listening() {
    return listening.size();
  }

  private CaptureRules awaitRules(SocketAddress requested) {
    if (decided.getCount() == 0) {
      return rules;
    }
    if (Thread.currentThread() == starter || timedOut) {
      return null;
    }
    try {
      if (decided.await(waitMillis, TimeUnit.MILLISECONDS)) {
        return rules;
      }
      timedOut = true;
      AgentLog.warn(
          "inbound capture: the agent had not started after " + waitMillis + " ms when the application"
              + " bound " + requested + "; that bind is left alone (a slow start-up, see the lines above)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return null;
  }

  /**
   * JDK server sockets are servers by type. Netty's {@code unix.Socket} serves every kind of
   * socket: only a bind made by a server channel ({@code EpollServerSocketChannel}, also
   * relocated) is a listening TCP socket; a datagram or client bind is left alone. Binds are rare,
   * so the stack walk costs nothing that matters.
   */
  static boolean isServerSocket(Object socket) {
    if (socket instanceof ServerSocketChannel || socket instanceof ServerSocket) {
      return true;
    }
    return StackWalker.getInstance()
        .walk(frames -> frames.limit(24).anyMatch(f -> isServerChannel(f.getClassName())));
  }

  static boolean isServerChannel(String className) {
    String simple = className.substring(className.lastIndexOf('.') + 1);
    return simple.endsWith("ServerSocketChannel") && !className.startsWith("io.jmesh.");
  }

  /** The port {@code socket} is bound to now; -1 when it cannot be read. */
  static int localPort(Object socket) {
    try {
      if (socket instanceof ServerSocketChannel ch) {
        return ((InetSocketAddress) ch.getLocalAddress()).getPort();
      }
      if (socket instanceof ServerSocket s) {
        return s.getLocalPort();
      }
      // Netty's unix.Socket, in the application's class loader: public InetSocketAddress localAddress().
      Object local = socket.getClass().getMethod("localAddress").invoke(socket);
      return local instanceof InetSocketAddress isa ? isa.getPort() : -1;
    } catch (Exception | LinkageError e) {
      AgentLog.warn("inbound capture: cannot read the port of " + socket.getClass().getName() + ": " + e);
      return -1;
    }
  }
}
