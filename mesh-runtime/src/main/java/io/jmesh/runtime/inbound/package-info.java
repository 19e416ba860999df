/**
 * The inbound side of a meshed workload: one listener that terminates mesh TLS, checks the
 * caller's SPIFFE identity against the workload's authorization policy, and forwards what it
 * admits to the application's own port on loopback ({@link
 * io.jmesh.runtime.inbound.InboundTerminator}). The policy itself is {@link
 * io.jmesh.runtime.inbound.AuthorizationPolicy}.
 */
package io.jmesh.runtime.inbound;
