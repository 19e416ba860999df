/**
 * Controller mode's source of snapshots: the agent's xDS client (one aggregated discovery stream
 * to the controller, Listeners up front and a service's routes, cluster and endpoints on its first
 * use) and the strict decoder that turns jmesh's Envoy resources into the config model, refusing
 * any field it does not implement with a NACK that names it.
 */
package io.jmesh.runtime.xds;
