package io.jmesh.runtime.inbound;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Keep-alive connections to the application, kept apart per event loop: a request read on one
 * loop is forwarded on a connection of that same loop, so the whole exchange (caller's stream,
 * application's connection, the answer) runs on one thread with no hand-off, no lock and no
 * wake-up of another thread. Netty's {@code FixedChannelPool} serializes every acquire and release
 * through one executor and hands connections across loops: on a busy terminator those hops cost
 * more than the forwarding itself. Envoy and linkerd2-proxy keep per-worker pools for the same
 * reason.
 *
 * <p>Each loop may open up to {@code maxPerLoop} connections; beyond that, requests wait in that
 * loop's queue, first come first served, for a connection to come back. The queue holds at most
 * {@code maxPendingPerLoop}: a request beyond it is told at once ({@link Lease#full}), so a flood
 * of callers cannot grow the listener's memory, and the caller gets a fast 503 rather than a slow
 * timeout. A connection that the
 * application closes while idle is dropped from the idle set.
 *
 * <p>Threading: {@link #acquire} and {@link #release} must be called on {@code loop}; their
 * callbacks run there. {@link #close} may be called from any thread.
 */
final class ApplicationPool {
  /** Hands a connection (or the reason there is none) to one waiting request. */
  interface Lease {
    void acquired(Channel connection);

    void failed(Throwable cause);

    /** The loop's queue already holds {@code pending} requests, its bound: none will come. */
    void full(int pending);
  }

  private final Bootstrap bootstrap;
  private final int maxPerLoop;
  private final int maxPendingPerLoop;
  private final Map<EventLoop, PerLoop> loops = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * @param bootstrap connects to the application; its handler sets up each new connection's
   *     pipeline; its group is replaced by the loop that asks
   * @param maxPendingPerLoop requests that may wait on one loop (0: none waits)
   */
  ApplicationPool(Bootstrap bootstrap, int maxPerLoop, int maxPendingPerLoop) {
    if (maxPerLoop < 1) {
      throw new IllegalArgumentException("maxPerLoop: " + maxPerLoop + " (expected: >= 1)");
    }
    if (maxPendingPerLoop < 0) {
      throw new IllegalArgumentException("maxPendingPerLoop: " + maxPendingPerLoop + " (expected: >= 0)");
    }
    this.bootstrap = bootstrap;
    this.maxPerLoop = maxPerLoop;
    this.maxPendingPerLoop = maxPendingPerLoop;
  }

  /** Gives {@code lease} an idle connection of {@code loop}, a new one, or queues it. */
  void acquire(EventLoop loop, Lease lease) {
    assert loop.inEventLoop();
    if (closed) {
      lease.failed(new IllegalStateException("the inbound listener is closed"));
      return;
    }
    loops.computeIfAbsent(loop, PerLoop::new).acquire(lease);
  }

  /**
   * Returns {@code connection} after a complete exchange; {@code reusable} false (the application
   * said {@code Connection: close}, or the exchange broke) closes it instead.
   */
  void release(Channel connection, boolean reusable) {
    assert connection.eventLoop().inEventLoop();
    PerLoop p = loops.get(connection.eventLoop());
    if (p == null || closed || !reusable || !connection.isActive()) {
      connection.close(); // its close listener gives the slot to a waiting request
      return;
    }
    p.release(connection);
  }

  /** Connections open now, idle or in use, over all loops (for tests). */
  int open() {
    int n = 0;
    for (PerLoop p : loops.values()) {
      n += p.open;
    }
    return n;
  }

  /** Requests waiting for a connection now, over all loops (for tests; a racy sum). */
  int pending() {
    int n = 0;
    for (PerLoop p : loops.values()) {
      n += p.waiting.size();
    }
    return n;
  }

  void close() {
    closed = true;
    for (PerLoop p : loops.values()) {
      p.loop.execute(p::closeAll);
    }
  }

  /** One loop's connections; touched only on that loop. */
  private final class PerLoop {
    final EventLoop loop;
    final ArrayDeque<Channel> idle = new ArrayDeque<>();
    final ArrayDeque<Lease> waiting = new ArrayDeque<>();
    final List<Channel> all = new ArrayList<>();
    int open; // connecting or connected

    PerLoop(EventLoop loop) {
      this.loop = loop;
    }

    void acquire(Lease lease) {
      Channel c;
      while ((c = idle.pollLast()) != null) { // most recently used first: warm, least likely closed
        if (c.isActive()) {
          lease.acquired(c);
          return;
        }
      }
      if (open < maxPerLoop) {
        connect(lease);
      } else if (waiting.size() < maxPendingPerLoop) {
        waiting.addLast(lease);
      } else {
        lease.full(waiting.size());
      }
    }

    void release(Channel c) {
      Lease next = waiting.pollFirst();
      if (next != null) {
        next.acquired(c);
      } else {
        idle.addLast(c);
      }
    }

    private void connect(Lease lease) {
      open++;
      ChannelFuture f = bootstrap.clone(loop).connect();
      Channel c = f.channel();
      all.add(c);
      c.closeFuture().addListener(x -> closed(c));
      f.addListener(
          x -> {
            if (x.isSuccess()) {
              lease.acquired(c);
            } else {
              lease.failed(x.cause());
            }
          });
    }

    private void closed(Channel c) {
      open--;
      all.remove(c);
      idle.remove(c);
      // A slot is free: the oldest waiting request gets a new connection.
      Lease next = waiting.pollFirst();
      if (next != null) {
        if (closed) {
          next.failed(new IllegalStateException("the inbound listener is closed"));
        } else {
          connect(next);
        }
      }
    }

    void closeAll() {
      for (Channel c : new ArrayList<>(all)) {
        c.close();
      }
      Consumer<Lease> fail = l -> l.failed(new IllegalStateException("the inbound listener is closed"));
      waiting.forEach(fail);
      waiting.clear();
    }
  }
}
