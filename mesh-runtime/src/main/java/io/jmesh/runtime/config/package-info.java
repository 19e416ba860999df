/**
 * The mesh model every call is routed by ({@link io.jmesh.runtime.config.MeshSnapshot} and its
 * immutable parts), read in file mode from YAML ({@link io.jmesh.runtime.config.MeshConfigParser},
 * watched by {@link io.jmesh.runtime.config.ConfigFileWatcher}), with the syntax it shares with
 * xDS ({@link io.jmesh.runtime.config.MeshSyntax}, {@link io.jmesh.runtime.config.Durations}).
 */
package io.jmesh.runtime.config;
