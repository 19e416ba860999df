package io.jmesh.instrumentation.javahttpclient.v11;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.ResponseInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import javax.net.ssl.SSLSession;

/**
 * A route's response header edits ({@link io.jmesh.bridge.BridgeCall#responseHeaderEdits}) on the
 * JDK client's types, whose heads cannot be changed: a new {@link HttpHeaders}, and the views
 * that hand it to the application's {@code BodyHandler} ({@link #info}) and in its {@link
 * HttpResponse} ({@link #response}). Stateless.
 */
final class ResponseHeaderEdits {
  private ResponseHeaderEdits() {}

  /**
   * {@code received} with the edits applied: remove, set (replacing every value), add (after the
   * values there); names case-insensitive, as {@link HttpHeaders} compares them.
   */
  static HttpHeaders apply(HttpHeaders received, String[][] edits) {
    TreeMap<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    received.map().forEach((name, values) -> headers.put(name, new ArrayList<>(values)));
    for (String name : edits[0]) {
      headers.remove(name);
    }
    for (int i = 0; i + 1 < edits[1].length; i += 2) {
      headers.put(edits[1][i], new ArrayList<>(List.of(edits[1][i + 1])));
    }
    for (int i = 0; i + 1 < edits[2].length; i += 2) {
      headers.computeIfAbsent(edits[2][i], k -> new ArrayList<>()).add(edits[2][i + 1]);
    }
    return HttpHeaders.of(headers, (name, value) -> true);
  }

  /** {@code info} with {@code headers} as its head, for the application's {@code BodyHandler}. */
  static ResponseInfo info(ResponseInfo info, HttpHeaders headers) {
    return new ResponseInfo() {
      @Override
      public int statusCode() {
        return info.statusCode();
      }

      @Override
      public HttpHeaders headers() {
        return headers;
      }

      @Override
      public HttpClient.Version version() {
        return info.version();
      }
    };
  }

  /** {@code response} with {@code headers} as its head; everything else is the response's own. */
  static <T> HttpResponse<T> response(HttpResponse<T> response, HttpHeaders headers) {
    return new HttpResponse<T>() {
      @Override
      public int statusCode() {
        return response.statusCode();
      }

      @Override
      public HttpRequest request() {
        return response.request();
      }

      @Override
      public Optional<HttpResponse<T>> previousResponse() {
        return response.previousResponse();
      }

      @Override
      public HttpHeaders headers() {
        return headers;
      }

      @Override
      public T body() {
        return response.body();
      }

      @Override
      public Optional<SSLSession> sslSession() {
        return response.sslSession();
      }

      @Override
      public URI uri() {
        return response.uri();
      }

      @Override
      public HttpClient.Version version() {
        return response.version();
      }

      @Override
      public String toString() {
        return response.toString();
      }
    };
  }
}
