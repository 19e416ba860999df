/**
 * Traces: one OpenTelemetry client span per outbound call (an event per attempt), one server span
 * per inbound request, W3C trace context and B3 propagation, OTLP export over gRPC. The SDK is
 * jmesh's own (shaded in the agent jar) and never registered globally, so an application's own
 * OpenTelemetry, or the OpenTelemetry Java agent, is never disturbed: jmesh joins their traces
 * through the request headers only. Entry point: {@link io.jmesh.runtime.trace.Tracing}.
 */
package io.jmesh.runtime.trace;
