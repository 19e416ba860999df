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
      case HTTP_STATUS -> outcome.statusCode() < 400 ? null : Integer.toString(outcome.statusCode());
      case CONNECT_FAILURE -> "connect_failure";
      case RESET -> "reset";
      case TIMEOUT -> "timeout";
      case OTHER_ERROR -> "_OTHER";
    };
  }
}
