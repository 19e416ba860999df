package io.jmesh.runtime.inbound;

import io.jmesh.runtime.time.Ticker;
import io.jmesh.runtime.trace.Tracing;
import java.net.InetSocketAddress;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * What the handlers of one inbound listener share: its options, the authorization policy, where
 * results are recorded, the tracer, and the ticker that times each request from its arrival to its
 * answer. One per {@link InboundTerminator}, handed to each handler it composes (as grpc-java's
 * xDS resource decoders share one context). Immutable, so read from every event loop without
 * synchronization.
 *
 * @param policy read for every request, so that a new policy applies at once
 * @param ticker the time of every latency recorded ({@link Ticker#system()} in production)
 * @param listenPort the listener's bound port (known only once it is bound), for server spans
 */
record InboundContext(
    InboundTerminator.Options options,
    Supplier<AuthorizationPolicy> policy,
    InboundStats stats,
    Tracing tracing,
    Ticker ticker,
    IntSupplier listenPort) {

  InetSocketAddress application() {
    return options.application();
  }

  /** How messages name the application: {@code 127.0.0.1:8080}. */
  String applicationAddress() {
    InetSocketAddress a = options.application();
    return (a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString()) + ":" + a.getPort();
  }
}
