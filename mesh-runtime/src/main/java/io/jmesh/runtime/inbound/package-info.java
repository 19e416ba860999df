/**
 * The inbound side of a meshed workload: one listener that terminates mesh TLS, checks the
 * caller's SPIFFE identity against the workload's authorization policy, and forwards what it
 * admits to the application's own port on loopback ({@link
 * io.jmesh.runtime.inbound.InboundTerminator}). The policy itself is {@link
 * io.jmesh.runtime.inbound.AuthorizationPolicy}. Each step of a connection (detection, ALPN,
 * sniffing, opaque relay, HTTP forwarding, the gRPC relay) is its own package-private Netty
 * handler; {@code InboundPipelines} composes them.
 */
package io.jmesh.runtime.inbound;
