package io.jmesh.runtime.route;

import io.jmesh.runtime.Admission;
import io.jmesh.runtime.retry.AttemptOutcome;

/**
 * The {@code error.type} values of outbound calls (listed in agent/README.md): the status code of
 * an error response, as the OpenTelemetry conventions say, otherwise a fixed snake-case reason.
 */
final class MeshMetricsErrors {
  static final String NO_ENDPOINT = "no_endpoint";
  /** Finished with neither an attempt nor a refusal: the adapter gave up (cancelled, failed). */
  static final String NOT_FINISHED = "_OTHER";

  // The error.type of each error status, made on first use: 4xx and 5xx are ordinary answers.
  private static final String[] STATUS = new String[600];

  private MeshMetricsErrors() {}

  static String of(Admission.Refusal refusal) {
    return switch (refusal) {
      case FAULT_ABORT -> "fault_abort";
      case RATE_LIMITED -> "rate_limited";
      case OVERLOADED -> "overloaded";
      case DEADLINE_EXCEEDED -> "deadline_exceeded";
    };
  }

  /** Null for a success (1xx..3xx); the status for an error response; the failure kind else. */
  static String of(AttemptOutcome outcome) {
    return switch (outcome.kind()) {
      case SUCCESS -> null;
      case HTTP_STATUS -> outcome.statusCode() < 400 ? null : status(outcome.statusCode());
      case CONNECT_FAILURE -> "connect_failure";
      case RESET -> "reset";
      case TIMEOUT -> "timeout";
      case OTHER_ERROR -> "_OTHER";
    };
  }

  private static String status(int code) {
    String text = STATUS[code];
    if (text == null) {
      // Racing threads may each make one; equal strings, either will do.
      text = Integer.toString(code);
      STATUS[code] = text;
    }
    return text;
  }
}
