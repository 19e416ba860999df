package io.jmesh.instrumentation.javahttpclient.v11;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RefusalResponseTest {
  private final HttpRequest request = HttpRequest.newBuilder(URI.create("http://limited:8080/a")).build();

  @Test
  void carriesStatusKindAndReasonAsTheApplicationAskedForTheBody() throws Exception {
    HttpResponse<String> r =
        RefusalResponse.of(request, BodyHandlers.ofString(), 429, "rate-limited", "jmesh: limited.default: over the limit")
            .get();

    assertThat(r.statusCode()).isEqualTo(429);
    assertThat(r.headers().firstValue("x-jmesh-refused")).contains("rate-limited");
    assertThat(r.headers().firstValue("Content-Type")).contains("text/plain; charset=utf-8");
    assertThat(r.body()).isEqualTo("jmesh: limited.default: over the limit");
    assertThat(r.request()).isSameAs(request);
    assertThat(r.uri()).isEqualTo(request.uri());
    assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
    assertThat(r.previousResponse()).isEmpty();
    assertThat(r.sslSession()).isEmpty();
  }

  @Test
  void feedsAStreamingHandlerOnDemand() throws Exception {
    HttpResponse<InputStream> r =
        RefusalResponse.of(request, BodyHandlers.ofInputStream(), 418, "fault-abort", "aborted").get();

    try (InputStream in = r.body()) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("aborted");
    }
  }

  @Test
  void anApplicationHandlerThatThrowsFailsTheFuture() {
    IllegalStateException boom = new IllegalStateException("the application's handler");

    assertThat(RefusalResponse.<String>of(request, info -> { throw boom; }, 503, "overloaded", "x"))
        .isCompletedExceptionally();
  }
}
