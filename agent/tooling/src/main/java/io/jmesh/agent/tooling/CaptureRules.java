package io.jmesh.agent.tooling;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * Which application binds inbound capture takes over, and where the mesh listener then listens.
 * A pure function of the settings and the workload's addresses, so that unit tests can state the
 * rule without sockets.
 *
 * <p>The rule: a bind of a captured port (every port, or the configured list, less the skipped
 * ones) on the wildcard address or on one of the workload's addresses goes to {@link
 * #APPLICATION_ADDRESS} instead; the mesh listener takes the port on the workload's addresses (all
 * of them for a wildcard bind, the one asked for otherwise). Binds to other addresses, loopback
 * among them, are the application's business: nothing outside the host can reach them through
 * the workload's addresses. Immutable and thread-safe.
 */
final class CaptureRules {
  /** Where a captured application listens, and where the mesh listener forwards to. */
  static final InetAddress APPLICATION_ADDRESS = ipLiteral("127.0.0.1");

  private final Settings settings;
  private final Set<InetAddress> workload;

  /** The settings as read ({@code jmesh.inbound.capture*}, {@code jmesh.inbound.skip.ports}). */
  record Settings(boolean on, Ports ports, Ports skip, List<InetAddress> workloadAddresses) {}

  /**
   * @param workloadAddresses this workload's addresses (the setting's, else the interfaces')
   */
  CaptureRules(Settings settings, List<InetAddress> workloadAddresses) {
    this.settings = settings;
    this.workload = Set.copyOf(workloadAddresses);
  }

  /** The workload's addresses: the setting, else the non-loopback addresses of the up interfaces. */
  static List<InetAddress> workloadAddresses(Settings settings) throws SocketException {
    if (!settings.workloadAddresses().isEmpty()) {
      return settings.workloadAddresses();
    }
    List<InetAddress> out = new ArrayList<>();
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp() || nic.isLoopback()) {
        continue;
      }
      for (InetAddress a : Collections.list(nic.getInetAddresses())) {
        if (!a.isLoopbackAddress()) {
          out.add(a);
        }
      }
    }
    return out;
  }

  Set<InetAddress> workload() {
    return workload;
  }

  /**
   * The addresses the mesh listener takes the port on when the application binds {@code
   * requested}; empty when the bind is left alone.
   *
   * @param requested the application's address; {@code null} is the wildcard and an ephemeral port
   */
  List<InetAddress> listenAddresses(SocketAddress requested) {
    InetAddress address;
    int port;
    if (requested == null) {
      address = null;
      port = 0;
    } else if (requested instanceof InetSocketAddress isa && !isa.isUnresolved()) {
      address = isa.getAddress();
      port = isa.getPort();
    } else {
      return List.of(); // a Unix domain socket, or a name the bind would fail on anyway
    }
    if (!settings.on() || !capturesPort(port)) {
      return List.of();
    }
    if (address == null || address.isAnyLocalAddress()) {
      // Stable order: IPv4 first, as given otherwise (the log line and tests read it).
      List<InetAddress> all = new ArrayList<>(workload);
      all.sort((a, b) -> Boolean.compare(!(a instanceof Inet4Address), !(b instanceof Inet4Address)));
      return all;
    }
    return workload.contains(address) ? List.of(address) : List.of();
  }

  /**
   * Whether binds of {@code port} are captured. An ephemeral bind (port 0) is captured only when
   * every port is: its port is known only once bound, so a list cannot name it.
   */
  boolean capturesPort(int port) {
    if (port == 0) {
      return settings.ports() == Ports.ALL;
    }
    return settings.ports().contains(port) && !settings.skip().contains(port);
  }

  /** Where the application is bound instead of {@code requested}. */
  static InetSocketAddress applicationAddress(SocketAddress requested) {
    int port = requested instanceof InetSocketAddress isa ? isa.getPort() : 0;
    return new InetSocketAddress(APPLICATION_ADDRESS, port);
  }

  /** An IP literal, never a DNS lookup. */
  static InetAddress ipLiteral(String text) {
    String t = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
    boolean literal = t.indexOf(':') >= 0 || t.chars().allMatch(c -> c == '.' || Character.isDigit(c));
    if (!literal || t.isEmpty()) {
      throw new IllegalArgumentException("not an IP literal: " + text);
    }
    try {
      return InetAddress.getByName(t);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IP literal: " + text, e);
    }
  }

  /** A set of ports as ranges; {@link #ALL} and {@link #NONE} are the two ends. */
  record Ports(List<int[]> ranges) {
    static final Ports ALL = new Ports(List.<int[]>of(new int[] {1, 65_535}));
    static final Ports NONE = new Ports(List.of());

    boolean contains(int port) {
      for (int[] r : ranges) {
        if (port >= r[0] && port <= r[1]) {
          return true;
        }
      }
      return false;
    }

    /**
     * Parses {@code 8080,9000-9010}; blank is none.
     *
     * @throws IllegalArgumentException naming the part that is no port or range of 1..65535
     */
    static Ports parse(String text) {
      List<int[]> out = new ArrayList<>();
      for (String part : text.split(",")) {
        String p = part.trim();
        if (p.isEmpty()) {
          continue;
        }
        int dash = p.indexOf('-');
        int from = port(dash < 0 ? p : p.substring(0, dash), p);
        int to = dash < 0 ? from : port(p.substring(dash + 1), p);
        if (to < from) {
          throw new IllegalArgumentException("range " + p + " is empty (expected: low-high)");
        }
        out.add(new int[] {from, to});
      }
      return out.isEmpty() ? NONE : new Ports(List.copyOf(out));
    }

    private static int port(String s, String part) {
      try {
        int n = Integer.parseInt(s.trim());
        if (n >= 1 && n <= 65_535) {
          return n;
        }
      } catch (NumberFormatException ignored) {
        // Reported below.
      }
      throw new IllegalArgumentException(part + " is no port (expected: 1..65535)");
    }

    @Override
    public String toString() {
      if (this == ALL) {
        return "all";
      }
      List<String> parts = new ArrayList<>();
      for (int[] r : ranges) {
        parts.add(r[0] == r[1] ? Integer.toString(r[0]) : r[0] + "-" + r[1]);
      }
      return String.join(",", parts);
    }
  }
}
