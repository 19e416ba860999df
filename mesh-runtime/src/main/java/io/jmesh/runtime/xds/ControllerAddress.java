package io.jmesh.runtime.xds;

/** A controller address from the agent's settings, {@code host:port} or {@code [v6]:port}. */
record ControllerAddress(String host, int port) {

  /**
   * Parses {@code address}.
   *
   * @throws IllegalArgumentException naming the address and the expected form
   */
  static ControllerAddress parse(String address) {
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      throw new IllegalArgumentException(
          "controller address: '" + address + "' (expected: host:port, e.g. 127.0.0.1:18000)");
    }
    String host = address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(
          "controller address: '" + address + "' (expected: a port in 1..65535 after the colon)");
    }
    return new ControllerAddress(host, port);
  }
}
