package io.jmesh.runtime.mirror;

import io.jmesh.runtime.RequestCopy;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.util.Locale;
import java.util.Set;

/** Turns a {@link RequestCopy} into the HTTP/1.1 request the mirror gets. Stateless. */
final class MirrorRequests {
  // Set by the sender for its own connection, never copied from the application's request.
  private static final Set<String> NOT_COPIED =
      Set.of(
          "host", "connection", "content-length", "transfer-encoding", "keep-alive", "proxy-connection",
          "te", "trailer", "upgrade", "expect", "http2-settings");

  private MirrorRequests() {}

  static FullHttpRequest build(RequestCopy copy, String shadowAuthority) {
    byte[] body = copy.body();
    FullHttpRequest request =
        new DefaultFullHttpRequest(
            HttpVersion.HTTP_1_1,
            HttpMethod.valueOf(copy.method()),
            copy.pathAndQuery(),
            body.length == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
    HttpHeaders headers = request.headers();
    String[] h = copy.headers();
    for (int i = 0; i < h.length; i += 2) {
      if (h[i] != null && h[i + 1] != null && !NOT_COPIED.contains(h[i].toLowerCase(Locale.ROOT))) {
        headers.add(h[i], h[i + 1]);
      }
    }
    String[] trace = copy.traceHeaders();
    if (trace != null) {
      for (int i = 0; i < trace.length; i += 2) {
        headers.set(trace[i], trace[i + 1]);
      }
    }
    headers.set(HttpHeaderNames.HOST, shadowAuthority);
    if (body.length > 0 || !headers.contains(HttpHeaderNames.CONTENT_LENGTH) && hasBodySemantics(copy.method())) {
      headers.set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    }
    return request;
  }

  private static boolean hasBodySemantics(String method) {
    return method.equals("POST") || method.equals("PUT") || method.equals("PATCH");
  }
}
