package io.jmesh.smoke.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Loopback ports for the processes a test starts, each handed out at most once per JVM.
 *
 * <p>A port is found by binding port 0 and closing the socket, so the kernel may hand the same
 * port out again at the next pick: of 20,000 sets of twelve such picks on a CI host, 0.9 % held a
 * repeat, and two agents then fought over one admin port (GrpcSmokeTest's CI failure, 3 denials
 * answered and 2 counted). Remembering what was handed out makes every pick of a test JVM
 * distinct. Another process may still bind a picked port before the test's process does; that is
 * the price of picking ports for processes not yet started. Thread-safe.
 */
public final class Ports {
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();
  private static final int MAX_TRIES = 1000;

  private Ports() {}

  /** A loopback port no process holds now, and that this JVM has not handed out before. */
  public static int unused() {
    for (int i = 0; i < MAX_TRIES; i++) {
      int port;
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        port = s.getLocalPort();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot bind a loopback port to find a free one", e);
      }
      if (HANDED_OUT.add(port)) {
        return port;
      }
    }
    throw new IllegalStateException(
        "no loopback port that was not handed out already in " + MAX_TRIES + " tries ("
            + HANDED_OUT.size() + " handed out; expected: the kernel's ephemeral range to offer others)");
  }
}
