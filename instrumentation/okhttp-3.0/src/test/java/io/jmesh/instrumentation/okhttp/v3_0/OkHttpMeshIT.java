package io.jmesh.instrumentation.okhttp.v3_0;

import io.jmesh.instrumentation.testing.AbstractMeshHttpClientTest;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.RequestBody;

/**
 * The conformance suite on OkHttp: the module's compile version, 3.14, in failsafe's default
 * execution, and 4.12 and 5.x in its okhttp-4 and okhttp-5 executions (the same test classes on a
 * class path with that OkHttp line instead). All options on, on every line.
 */
class OkHttpMeshIT extends AbstractMeshHttpClientTest {
  private final OkHttpClient client = new OkHttpClient();

  @Override
  protected Response send(Request request) throws Exception {
    okhttp3.Request.Builder b = new okhttp3.Request.Builder().url(request.uri().toString());
    request.headers().forEach(b::header);
    if (request.body() != null) {
      b.method(request.method(), RequestBody.create(MediaType.parse("text/plain"), request.body()));
    } else {
      b.method(request.method(), null);
    }
    try (okhttp3.Response r = client.newCall(b.build()).execute()) {
      return new Response(r.code(), r.body().string(), r.headers().toMultimap());
    }
  }
}
