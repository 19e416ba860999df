/**
 * Request mirroring: {@link io.jmesh.runtime.mirror.MirrorSender} sends fire-and-forget copies of
 * routed requests to a route's mirror service on the runtime's own HTTP/1.1 connections, so that no
 * application client is involved in a copy the runtime owns.
 */
package io.jmesh.runtime.mirror;
