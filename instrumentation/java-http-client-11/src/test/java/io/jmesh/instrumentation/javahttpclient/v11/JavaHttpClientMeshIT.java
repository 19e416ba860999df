package io.jmesh.instrumentation.javahttpclient.v11;

import io.jmesh.instrumentation.testing.AbstractMeshHttpClientTest;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The conformance suite on {@code java.net.http.HttpClient}, synchronous {@code send}. */
class JavaHttpClientMeshIT extends AbstractMeshHttpClientTest {
  private final HttpClient client =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

  @Override
  protected Options options() {
    // A body publisher is read by subscribing, which the client does for the original; a second
    // subscription is not safe for every publisher, so a mirror gets body-less requests only.
    return Options.all().withoutMirroredBodies();
  }

  @Override
  protected Response send(Request request) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(request.uri())
            .timeout(Duration.ofSeconds(10))
            .method(
                request.method(),
                request.body() == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(request.body()));
    request.headers().forEach(b::header);
    HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Response(r.statusCode(), r.body(), r.headers().map());
  }
}
