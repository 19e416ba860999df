package io.jmesh.controller.kubernetes;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP forwarder on loopback whose link can be cut and healed: while cut, open connections are
 * closed and new ones closed as soon as they are accepted, so a client behind it sees the API
 * server go away (as from a node that died or lost its network) without closing itself.
 *
 * <p>Closing a fabric8 client is no stand-in: it shuts the client's executor, so its leader
 * election stops silently and still believes it leads; and the mock API server's watch teardown
 * for its dropped watches blocks the server's event loop for up to a minute when an event is in
 * flight to one of them ({@code WatchEventsListener.onFailure} awaits its executor there).
 */
final class CuttableProxy implements AutoCloseable {
  private final ServerSocket server;
  private final InetSocketAddress target;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean cut;

  CuttableProxy(InetSocketAddress target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "cuttable-proxy-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** The port clients connect to. */
  int port() {
    return server.getLocalPort();
  }

  /** Closes every open connection and refuses new ones until {@link #heal}. */
  void cut() {
    cut = true;
    open.forEach(CuttableProxy::closeQuietly);
  }

  /** Forwards new connections again. */
  void heal() {
    cut = false;
  }

  private void accept() {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException closed) {
        return;
      }
      if (cut) {
        closeQuietly(client);
        continue;
      }
      try {
        Socket upstream = new Socket(target.getAddress(), target.getPort());
        open.add(client);
        open.add(upstream);
        pump(client, upstream);
        pump(upstream, client);
      } catch (IOException e) {
        closeQuietly(client);
      }
    }
  }

  private void pump(Socket from, Socket to) {
    Thread t =
        new Thread(
            () -> {
              byte[] buffer = new byte[16 * 1024];
              try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                  out.write(buffer, 0, n);
                }
              } catch (IOException ended) {
                // Either side closed, or cut(): both go.
              } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
              }
            },
            "cuttable-proxy-pump");
    t.setDaemon(true);
    t.start();
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // Closing is all we wanted.
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    cut();
  }
}
