package io.jmesh.bridge;

import java.io.IOException;

/**
 * What a blocking client adapter supplies to {@link BridgeCall#execute}: how to send one attempt
 * and how to say the mesh's answers in the client's own types. The runtime does the rest
 * (admission, retries, deadline, recording). Called on the thread that called {@code execute}.
 *
 * @param <R> the client's response type
 */
public interface BridgeSender<R> {
  /**
   * Sends one attempt to {@code endpoint} and returns its response, or throws what the client
   * threw. Send with the logical authority as Host, {@link BridgeCall#DEADLINE_HEADER} set to
   * {@code deadlineHeader} when it is not {@code null}, each pair of {@code traceHeaders} set
   * (when not {@code null}), and {@code timeoutNanos} as the attempt's timeout ({@code -1}: none).
   */
  R send(BridgeEndpoint endpoint, long timeoutNanos, String deadlineHeader, String[] traceHeaders)
      throws IOException;

  /** The HTTP status of {@code response}. */
  int status(R response);

  /** Releases a response that a retry replaces (closes its body). */
  void discard(R response);

  /**
   * The answer the mesh gives instead of sending (Envoy's local reply): {@code status} with
   * {@link BridgeCall#REFUSED_HEADER} set to {@code kind} and {@code reason} as the body.
   */
  R refused(int status, String kind, String reason);

  /**
   * The request's headers as name/value pairs in one array, for the copy the route's mirror
   * sends (asked at most once, before the first attempt, only when the route mirrors); {@code
   * null} when the client hands over no copy. The default: {@code null}.
   */
  default String[] mirrorHeaders() {
    return null;
  }

  /**
   * The request's whole body for the mirror's copy: empty for none, {@code null} when it cannot be
   * read twice (the copy is then skipped and counted). Asked right after {@link #mirrorHeaders()}.
   * The default: {@code null}.
   */
  default byte[] mirrorBody() {
    return null;
  }

  /** The client's own timeout exception for an expired deadline, with the attempt's error. */
  IOException deadlineExceeded(String message, Throwable cause);
}
