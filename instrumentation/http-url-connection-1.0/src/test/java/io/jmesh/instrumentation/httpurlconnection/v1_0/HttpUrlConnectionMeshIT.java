package io.jmesh.instrumentation.httpurlconnection.v1_0;

import io.jmesh.instrumentation.testing.AbstractMeshHttpClientTest;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;

/** The conformance suite on {@code HttpURLConnection}. */
class HttpUrlConnectionMeshIT extends AbstractMeshHttpClientTest {
  @Override
  protected Options options() {
    return Options.all()
        // The request is written and its response read inside getInputStream(), which offers no
        // point to send it again; only a refused connect moves to another endpoint (nothing was
        // sent), which HttpUrlConnectionConnectRetryIT shows.
        .withoutRetries()
        // The application is handed a connection, never a response object: a refusal (fault
        // abort, rate limit, overload) can only fail the call, with a MeshRefusal naming why.
        .withoutSynthesizedResponses()
        // Mesh TLS is layered over the socket of an HTTP/1.1 exchange; this client has no HTTP/2,
        // so each exchange holds its own connection.
        .withoutHttp2()
        // The application streams the body after connecting, once: a mirror gets copies of
        // body-less requests only (the others are skipped and counted).
        .withoutMirroredBodies();
  }

  @Override
  protected Response send(Request request) throws Exception {
    HttpURLConnection c = (HttpURLConnection) request.uri().toURL().openConnection();
    c.setConnectTimeout(5000);
    c.setReadTimeout(10000);
    c.setRequestMethod(request.method());
    request.headers().forEach(c::setRequestProperty);
    if (request.body() != null) {
      c.setDoOutput(true);
      try (java.io.OutputStream out = c.getOutputStream()) {
        out.write(request.body().getBytes(StandardCharsets.UTF_8));
      }
    }
    int status = c.getResponseCode();
    try (InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
      return new Response(
          status,
          in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8),
          c.getHeaderFields());
    }
  }
}
