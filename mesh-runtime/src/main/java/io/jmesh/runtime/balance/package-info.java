/**
 * Load balancing, the "concrete" stage of the outbound path: per backend, a long-lived {@link
 * io.jmesh.runtime.balance.LoadBalancer} shaped like gRPC's publishes an immutable picker that
 * chooses one endpoint per attempt (peak-EWMA by default; least request, round robin and weighted
 * random as baselines; priority failover above them), never taking a lock on the request path.
 */
package io.jmesh.runtime.balance;
