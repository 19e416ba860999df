/**
 * Retries: whether a failed attempt may be tried again ({@link io.jmesh.runtime.retry.RetryPolicy},
 * per route), how long to wait first ({@link io.jmesh.runtime.retry.Backoff}), and how many
 * retries a destination may receive at all ({@link io.jmesh.runtime.retry.RetryBudget}, per
 * destination), so that retries mask single failures without multiplying the load on a service
 * that is already failing.
 */
package io.jmesh.runtime.retry;
