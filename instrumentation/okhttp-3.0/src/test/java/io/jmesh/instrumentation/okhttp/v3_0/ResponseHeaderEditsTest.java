package io.jmesh.instrumentation.okhttp.v3_0;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.MeshBridge;
import okhttp3.MediaType;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.junit.jupiter.api.Test;

/** {@link MeshInterceptor#editResponseHeaders} on OkHttp's own types, without an agent or sockets. */
class ResponseHeaderEditsTest {
  private static final Response RECEIVED =
      new Response.Builder()
          .request(new Request.Builder().url("http://hello:8080/").build())
          .protocol(Protocol.HTTP_1_1)
          .code(200)
          .message("OK")
          .header("X-Tag", "server")
          .header("Server", "test")
          .body(ResponseBody.create(MediaType.parse("text/plain"), "ok"))
          .build();

  /** A call whose route has these response header edits. */
  private static BridgeCall routeWith(String[][] edits) {
    return new BridgeCall() {
      @Override
      public String[][] responseHeaderEdits() {
        return edits;
      }

      @Override
      public String authority() {
        return "hello:8080";
      }

      @Override
      public String deadlineHeaderValue() {
        return null;
      }

      @Override
      public boolean deadlineExpired() {
        return false;
      }

      @Override
      public String deadlineMessage() {
        return "";
      }
    };
  }

  @Test
  void editsACopyOfTheHead() {
    Response r =
        MeshInterceptor.editResponseHeaders(
            RECEIVED, routeWith(new String[][] {{"server"}, {"x-env", "prod"}, {"x-tag", "mesh"}}));

    assertThat(r.headers("X-Env")).containsExactly("prod");
    assertThat(r.headers("x-tag")).containsExactly("server", "mesh");
    assertThat(r.header("Server")).isNull();
    assertThat(r.code()).isEqualTo(200);
    assertThat(r.body()).isSameAs(RECEIVED.body());
    assertThat(RECEIVED.header("Server")).isEqualTo("test"); // the received response is untouched
  }

  @Test
  void aValueOkHttpRefusesLeavesTheResponseAsReceivedAndIsCounted() {
    long before = MeshBridge.errorCounts().getOrDefault(MeshInterceptor.PLACE + MeshBridge.RESPONSE_HEADERS, 0L);

    // The mesh's config allows any value without CR or LF; OkHttp takes printable ASCII only.
    Response r =
        MeshInterceptor.editResponseHeaders(
            RECEIVED, routeWith(new String[][] {{"server"}, {"x-env", "caf\u00e9"}, {}}));

    assertThat(r).isSameAs(RECEIVED);
    assertThat(MeshBridge.errorCounts())
        .containsEntry(MeshInterceptor.PLACE + MeshBridge.RESPONSE_HEADERS, before + 1);
  }

  @Test
  void noEditsNoCopy() {
    assertThat(MeshInterceptor.editResponseHeaders(RECEIVED, routeWith(null))).isSameAs(RECEIVED);
  }
}
