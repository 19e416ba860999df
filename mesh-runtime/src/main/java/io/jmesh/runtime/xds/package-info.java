/**
 * Controller mode: the agent's ADS client ({@link io.jmesh.runtime.xds.XdsClient}) and the strict
 * decoding of the controller's xDS resources into the mesh model ({@link
 * io.jmesh.runtime.xds.XdsDecoder}, one decoder per resource type), named by the contract in
 * {@link io.jmesh.runtime.xds.XdsNames}.
 */
package io.jmesh.runtime.xds;
