package io.jmesh.controller;

/**
 * A {@code host:port} pair from the command line: {@code 127.0.0.1:18000}, {@code
 * localhost:18000}, {@code [::1]:18000}, or {@code 0.0.0.0:18000} to listen on every interface.
 * Port 0 asks for an ephemeral port.
 */
record HostPort(String host, int port) {

  /**
   * Parses {@code value}; {@code name} (the flag) goes into the error message.
   *
   * @throws IllegalArgumentException naming the flag, the value and the expected form
   */
  static HostPort parse(String name, String value) {
    String expected = " (expected: host:port, for example 127.0.0.1:18000 or [::1]:18000)";
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException(name + ": \"" + value + "\"" + expected);
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      // An IPv6 literal without brackets is ambiguous: which colon starts the port?
      throw new IllegalArgumentException(name + ": \"" + value + "\"" + expected);
    }
    if (host.isEmpty()) {
      throw new IllegalArgumentException(name + ": \"" + value + "\"" + expected);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": \"" + value + "\"" + expected);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(
          name + ": \"" + value + "\": port " + port + " (expected: 0..65535)");
    }
    return new HostPort(host, port);
  }

  @Override
  public String toString() {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
