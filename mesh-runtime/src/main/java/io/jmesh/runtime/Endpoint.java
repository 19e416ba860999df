package io.jmesh.runtime;

import java.net.InetSocketAddress;
import java.util.Map;

/** One instance of a service: where to connect, how much traffic it takes, and its labels. */
public interface Endpoint {
  /** The IP address or host name to connect to. */
  String host();

  /** The port to connect to. */
  int port();

  /** The relative weight, {@code >= 1}. */
  int weight();

  /** Labels such as {@code version=v1}; never null. */
  Map<String, String> labels();

  /**
   * The failover priority: 0 is the highest. Traffic stays on the highest priority while enough of
   * it is healthy and spills to the next in proportion as it degrades (Envoy's overprovisioning
   * model). Typically derived from locality: own zone 0, own region 1, elsewhere 2.
   */
  default int priority() {
    return 0;
  }

  /** A resolved socket address for {@link #host()}:{@link #port()}, cached. */
  InetSocketAddress socketAddress();
}
