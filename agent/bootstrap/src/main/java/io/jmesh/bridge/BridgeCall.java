package io.jmesh.bridge;

/**
 * One request to a mesh destination, already routed. The woven code asks for an endpoint per
 * attempt, sends the attempt there with the logical {@link #authority()} in the Host header, and
 * reports how it went.
 */
public interface BridgeCall {
  /** The authority the application addressed; send it as {@code Host} / {@code :authority}. */
  String authority();

  /** The endpoint for the next attempt, or {@code null} when the destination has none. */
  BridgeEndpoint nextEndpoint();

  /** The message to fail the call with when {@link #nextEndpoint()} returned {@code null}. */
  String noEndpointMessage();

  /** Reports one attempt's result; {@code success} is false for I/O errors and 5xx. */
  void attemptFinished(BridgeEndpoint endpoint, boolean success, long durationNanos);
}
