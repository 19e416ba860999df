package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.CallOptions;
import io.grpc.ConnectivityState;
import io.grpc.LoadBalancer.PickResult;
import io.grpc.Status;
import io.jmesh.bridge.BridgeEndpoint;

/**
 * The endpoint the runtime's call driver picked for one attempt of an RPC, carried to {@link
 * MeshLoadBalancer.MeshPicker} in the attempt's {@link CallOptions}. The picker only maps it to
 * that endpoint's subchannel: it never picks another endpoint, so every attempt gRPC makes is one
 * the driver counted, and an RPC makes at most the route's {@code retry.attempts} whatever its
 * subchannels do (a subchannel in TRANSIENT_FAILURE fails the attempt as a connect failure, and
 * the driver decides whether to retry, elsewhere).
 *
 * <p>Thread-safety: gRPC picks for one attempt one at a time, possibly on different threads, and
 * the attempt's close reads how the last pick went: one volatile field.
 */
final class AttemptPick {
  static final CallOptions.Key<AttemptPick> KEY = CallOptions.Key.createWithDefault("jmesh-attempt", null);

  // How the attempt's last pick went (ints, not an enum: one helper class fewer to inject).
  /** Not picked yet, or waiting for the endpoint's subchannel to connect. */
  static final int WAITING = 0;
  /** Given the endpoint's ready subchannel: the attempt may have reached the server. */
  static final int SENT = 1;
  /** The endpoint cannot be reached from this channel: nothing was sent. */
  static final int NOT_CONNECTED = 2;

  /** Whether the RPC's channel speaks mesh TLS; if not, endpoints that require it are refused. */
  private final boolean meshTlsChannel;

  final BridgeEndpoint endpoint;
  private final String authority;
  private volatile int outcome = WAITING;
  private volatile String why; // what a NOT_CONNECTED pick said

  AttemptPick(boolean meshTlsChannel, BridgeEndpoint endpoint, String authority) {
    this.meshTlsChannel = meshTlsChannel;
    this.endpoint = endpoint;
    this.authority = authority;
  }

  int outcome() {
    return outcome;
  }

  String why() {
    return why;
  }

  /** The pick for this attempt; called by {@link MeshLoadBalancer.MeshPicker} only. */
  PickResult pick(MeshLoadBalancer.MeshPicker picker) {
    if (endpoint.meshTls() != null && !meshTlsChannel) {
      // Security fails closed: a channel built without mesh TLS (the destination did not require
      // it then, or the transport could not be given it) never sends there in plaintext.
      why = "the channel has no mesh TLS";
      outcome = NOT_CONNECTED;
      return PickResult.withDrop(
          Status.UNAVAILABLE.withDescription(
              "jmesh: " + authority + " requires mesh TLS, and this channel was built without it"
                  + " (expected: a grpc-netty or grpc-netty-shaded channel built while the destination"
                  + " requires mesh TLS); nothing was sent"));
    }
    ConnectivityState state = picker.state(endpoint.socketAddress());
    if (state == ConnectivityState.READY) {
      outcome = SENT;
      return PickResult.withSubchannel(picker.subchannel(endpoint.socketAddress()));
    }
    if (state == ConnectivityState.TRANSIENT_FAILURE) {
      // The attempt fails as a connect failure; the driver decides whether another endpoint gets
      // a retry (a waitForReady RPC waits for this endpoint instead, as gRPC's own policies do).
      why = "cannot connect to " + endpoint;
      outcome = NOT_CONNECTED;
      return PickResult.withError(
          Status.UNAVAILABLE.withDescription("jmesh: " + authority + ": cannot connect to " + endpoint));
    }
    // Connecting, idle, or no subchannel yet (an endpoint new to this channel): wait for it.
    outcome = WAITING;
    picker.connect(endpoint.socketAddress());
    return PickResult.withNoResult();
  }
}
