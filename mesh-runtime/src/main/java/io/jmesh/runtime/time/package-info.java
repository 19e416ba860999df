/**
 * Time passed in: the {@link io.jmesh.runtime.time.Ticker} every timer, breaker, budget and latency
 * estimate of the runtime reads, so that tests move time forward with {@link
 * io.jmesh.runtime.time.FakeTicker} instead of sleeping.
 */
package io.jmesh.runtime.time;
