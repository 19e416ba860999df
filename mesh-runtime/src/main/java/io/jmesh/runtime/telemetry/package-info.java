/**
 * What the runtime records of every call: the golden metrics in a Micrometer registry the caller
 * owns ({@link io.jmesh.runtime.telemetry.MeshMetrics}, named after OpenTelemetry's HTTP and RPC
 * conventions, with bounded cardinality) and a live copy of each finished call for the admin
 * endpoint's tap ({@link io.jmesh.runtime.telemetry.MeshTap}).
 */
package io.jmesh.runtime.telemetry;
