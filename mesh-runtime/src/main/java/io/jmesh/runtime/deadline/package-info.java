/**
 * Deadlines: one absolute point in (ticker) time per call, shared by all its attempts, so that
 * retries can never make a call outlive what its caller is willing to wait; and the header that
 * carries the remaining time to the next hop.
 */
package io.jmesh.runtime.deadline;
