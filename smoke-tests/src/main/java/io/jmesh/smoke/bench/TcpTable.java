package io.jmesh.smoke.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads the kernel's IPv4 TCP tables ({@code /proc/net/tcp}, {@code /proc/net/tcp6}) to count the connections made to a
 * server port: the benchmark uses it to check that keep-alive survives the agent. A connection
 * is named by its ephemeral (client) port; whichever side closes first keeps a TIME_WAIT entry for
 * about a minute, so connections of a run that just ended are still visible.
 */
public final class TcpTable {
  private static final String LISTEN = "0A";
  private static final String ESTABLISHED = "01";

  private TcpTable() {}

  /** The ephemeral ports of every non-listening TCP socket whose local or remote port is {@code port}. */
  public static Set<Integer> peerPorts(int port) {
    Set<Integer> out = new HashSet<>();
    // Java's dual-stack sockets show IPv4 connections in tcp6, as ::ffff:a.b.c.d.
    for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
      read(Path.of(table), port, out);
    }
    return out;
  }

  /**
   * The ephemeral ports of the ESTABLISHED connections to or from {@code port} (not TIME_WAIT or
   * closing ones), as seen from either end.
   */
  public static Set<Integer> establishedPeerPorts(int port) {
    Set<Integer> out = new HashSet<>();
    for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
      read(Path.of(table), port, out, ESTABLISHED);
    }
    return out;
  }

  private static void read(Path table, int port, Set<Integer> out) {
    read(table, port, out, null);
  }

  private static void read(Path table, int port, Set<Integer> out, String onlyState) {
    List<String> lines;
    try {
      lines = Files.readAllLines(table, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      return; // Not Linux: the count is reported as 0.
    }
    for (int i = 1; i < lines.size(); i++) {
      String[] f = lines.get(i).trim().split("\\s+");
      if (f.length < 4 || f[3].equals(LISTEN) || onlyState != null && !f[3].equals(onlyState)) {
        continue;
      }
      int local = port(f[1]);
      int remote = port(f[2]);
      if (local == port) {
        out.add(remote);
      } else if (remote == port) {
        out.add(local);
      }
    }
  }

  /** The port of an {@code ADDRHEX:PORTHEX} field. */
  private static int port(String addressAndPort) {
    int colon = addressAndPort.indexOf(':');
    return colon < 0 ? -1 : Integer.parseInt(addressAndPort.substring(colon + 1), 16);
  }
}
