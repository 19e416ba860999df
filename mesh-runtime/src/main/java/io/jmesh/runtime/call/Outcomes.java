package io.jmesh.runtime.call;

import io.jmesh.runtime.retry.AttemptOutcome;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.SSLHandshakeException;

/** Classifies what an attempt ended with, for every adapter alike. */
public final class Outcomes {
  private Outcomes() {}

  /** The outcome of an answer; the runtime counts 1xx..4xx as the endpoint doing its job. */
  public static AttemptOutcome of(int status) {
    return status >= 100 && status <= 599 ? AttemptOutcome.status(status) : AttemptOutcome.otherError();
  }

  /**
   * What kind of failure an attempt's exception is, as Envoy's {@code retry_on} sees it: the
   * connection could not be made (nothing was sent), a timeout, or a reset of a connection that
   * may have carried the request. Wrappers such as {@link CompletionException} are looked through.
   */
  public static AttemptOutcome classify(Throwable error) {
    Throwable t = error;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    if (t == null) {
      return AttemptOutcome.otherError();
    }
    if (t instanceof ConnectException
        || t instanceof NoRouteToHostException
        || t instanceof UnknownHostException
        || t instanceof HttpConnectTimeoutException
        || t instanceof SSLHandshakeException) {
      return AttemptOutcome.connectFailure();
    }
    if (t instanceof HttpTimeoutException || t instanceof InterruptedIOException) {
      // SocketTimeoutException and OkHttp's call timeout are InterruptedIOExceptions too.
      return AttemptOutcome.timeout();
    }
    if (t instanceof IOException) {
      // Closed, reset or truncated after the connection was made: the request may have arrived.
      return AttemptOutcome.reset();
    }
    return AttemptOutcome.otherError();
  }
}
