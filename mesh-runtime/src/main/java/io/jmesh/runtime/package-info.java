/**
 * The in-process data plane's API for instrumentation adapters: {@link
 * io.jmesh.runtime.MeshRuntime} holds the mesh snapshot in force and routes each outbound request
 * ({@link io.jmesh.runtime.OutboundRequest}) to an {@link io.jmesh.runtime.OutboundCall} whose
 * attempts the adapter sends; the packages below implement the stages it composes.
 */
package io.jmesh.runtime;
