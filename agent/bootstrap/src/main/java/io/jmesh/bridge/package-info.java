/**
 * The bridge between woven code and the mesh runtime. These classes are appended to the bootstrap
 * class path, so advice inlined into any class (JDK or library) can see them. They use JDK types
 * only and hold no logic: the agent installs implementations that live in the isolated agent
 * class loader.
 */
package io.jmesh.bridge;
