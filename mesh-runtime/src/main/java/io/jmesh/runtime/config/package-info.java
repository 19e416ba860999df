/**
 * The mesh config model, an immutable {@link io.jmesh.runtime.config.MeshSnapshot} of services,
 * routes, policies and endpoints, and file mode's source of it: the YAML parser whose errors name
 * the line, field, value and expectation, and the watcher that re-reads the file when it changes.
 */
package io.jmesh.runtime.config;
