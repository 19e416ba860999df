package io.jmesh.agent.tooling;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The addresses the agent itself is binding now (the mesh inbound listener, the admin endpoint),
 * so that inbound capture never takes over the agent's own listeners. Both bind through the JDK's
 * NIO layer (the admin endpoint is the JDK's {@code HttpServer}, the listener runs on the agent's
 * relocated Netty, binding on its event loop thread): neither the class nor the thread of the bind
 * tells them apart from the application's, so the agent says so, by address, before it binds.
 *
 * <p>An application bind of the same address while the agent binds it would fail with "address
 * in use" anyway (except for port 0 on the same address, which is then left alone: a bind the
 * agent could have made itself). Thread-safe.
 */
final class AgentBinds {
  private static final ConcurrentHashMap<InetSocketAddress, Integer> BINDING = new ConcurrentHashMap<>();

  private AgentBinds() {}

  /** Marks {@code addresses} as the agent's until the claim is closed; use with try-with-resources. */
  static Claim claim(List<InetSocketAddress> addresses) {
    for (InetSocketAddress a : addresses) {
      BINDING.merge(a, 1, Integer::sum);
    }
    return () -> {
      for (InetSocketAddress a : addresses) {
        BINDING.computeIfPresent(a, (k, n) -> n == 1 ? null : n - 1);
      }
    };
  }

  /** Whether a bind of {@code address} is the agent's own. */
  static boolean isAgentBind(SocketAddress address) {
    return address instanceof InetSocketAddress isa && BINDING.containsKey(isa);
  }

  /** An open claim. */
  interface Claim extends AutoCloseable {
    @Override
    void close();
  }
}
