package io.jmesh.controller.cli;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * GETs on the controller's and the agents' admin endpoints, with errors that say which endpoint
 * failed, how, and what the user should check.
 *
 * <p>Thread-safety: thread-safe (one shared JDK {@link HttpClient}).
 */
final class AdminHttp {
  /** A failed GET; the message is one line for the user. */
  static final class AdminException extends Exception {
    AdminException(String message) {
      super(message);
    }
  }

  private final HttpClient client;
  private final Duration timeout;

  AdminHttp(Duration timeout) {
    this.timeout = timeout;
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(timeout)
            .version(HttpClient.Version.HTTP_1_1)
            .build();
  }

  /**
   * The body of {@code GET http://<address><path>} when it answers 200.
   *
   * @param what what the address is, for messages: {@code controller admin}, {@code agent
   *     traffic-client-1 admin}
   * @param expectation what the address should be, for messages
   */
  String get(String what, String address, String path, String expectation) throws AdminException {
    HttpResponse<String> response;
    try {
      response = client.send(request(address, path, timeout), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AdminException(failure(what, address, path, e, expectation));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AdminException(what + " " + address + path + ": interrupted");
    }
    if (response.statusCode() != 200) {
      throw new AdminException(
          what + " " + address + path + ": HTTP " + response.statusCode() + ": "
              + firstLine(response.body()));
    }
    return response.body();
  }

  /** The status code and body of a GET whatever its status (for /ready, which says why not). */
  HttpResponse<String> getAnyStatus(String what, String address, String path, String expectation)
      throws AdminException {
    try {
      return client.send(request(address, path, timeout), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AdminException(failure(what, address, path, e, expectation));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AdminException(what + " " + address + path + ": interrupted");
    }
  }

  /** A streamed GET with no overall timeout (a tap); lines as they arrive. */
  CompletableFuture<HttpResponse<Stream<String>>> lines(String address, String path) {
    return client.sendAsync(request(address, path, null), HttpResponse.BodyHandlers.ofLines());
  }

  static String failure(String what, String address, String path, Throwable e, String expectation) {
    String how;
    if (e instanceof ConnectException || e.getCause() instanceof ConnectException) {
      how = "connection refused";
    } else if (e instanceof HttpTimeoutException) {
      how = "no answer in time";
    } else {
      how = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
    return what + " " + address + path + ": " + how + " (expected: " + expectation + ")";
  }

  private static HttpRequest request(String address, String path, Duration timeout) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + address + path)).GET();
    if (timeout != null) {
      b.timeout(timeout);
    }
    return b.build();
  }

  static String firstLine(String body) {
    String s = body == null ? "" : body.strip();
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
