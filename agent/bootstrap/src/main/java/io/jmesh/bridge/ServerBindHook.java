package io.jmesh.bridge;

import java.net.SocketAddress;

/**
 * Hooks woven into the server-socket binds of the JDK ({@code sun.nio.ch.ServerSocketChannelImpl},
 * {@code java.net.ServerSocket}) and of Netty's native transport ({@code
 * io.netty.channel.unix.Socket}, also under a relocated package): inbound capture. Called on the
 * binding thread; implementations are thread-safe. Woven code catches every {@link Throwable} a
 * hook throws, reports it with {@link MeshBridge#adviceError} and binds what the application asked
 * for.
 */
public interface ServerBindHook {
  /**
   * Called on entry to a bind: the address to bind instead of {@code requested} (loopback, when
   * the mesh captures this port), or {@code null} to bind {@code requested} unchanged. May wait,
   * boundedly, for the agent to finish starting.
   *
   * @param socket the socket or channel being bound
   * @param requested what the application asked for; {@code null} means the wildcard address and
   *     an ephemeral port
   */
  SocketAddress bindAddress(Object socket, SocketAddress requested);

  /**
   * Called on exit of a bind whose address {@link #bindAddress} replaced: when {@code thrown} is
   * {@code null} the application now listens on loopback, and the mesh listener is to take the
   * port on the workload's addresses. Never throws on purpose.
   *
   * @param requested the application's own address, as passed to {@link #bindAddress}
   */
  void bound(Object socket, SocketAddress requested, Throwable thrown);

  /** Called when a captured server socket closes: the mesh listener on its port stops. */
  default void closed(Object socket) {}
}
