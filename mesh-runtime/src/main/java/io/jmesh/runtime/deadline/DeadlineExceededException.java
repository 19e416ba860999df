package io.jmesh.runtime.deadline;

import java.io.IOException;
import java.time.Duration;

/**
 * Thrown to the application when a mesh call runs out of time: its deadline expired during an
 * attempt or before a retry could start. An {@link IOException} because that is what every
 * instrumented HTTP client already throws for a failed call.
 */
public final class DeadlineExceededException extends IOException {
  private static final long serialVersionUID = 1L;

  /**
   * A message naming the destination, the time spent and the budget, for example {@code
   * "hello.default: deadline exceeded after 1502 ms (budget: 1500 ms)"}.
   */
  public DeadlineExceededException(String destination, Deadline deadline) {
    super(message(destination, deadline));
  }

  /**
   * With a message already made ({@code OutboundCall#deadlineMessage()}) and the error of the
   * attempt the deadline cut short, or {@code null}.
   */
  public DeadlineExceededException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The message of this exception, for adapters that fail the call with their own type. */
  public static String message(String destination, Deadline deadline) {
    return destination + ": deadline exceeded after " + millis(deadline.elapsed())
        + " ms (budget: " + millis(deadline.budget()) + " ms)";
  }

  private static long millis(Duration d) {
    return d.toMillis();
  }
}
