package io.jmesh.injector.server;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/** Full HTTP answers with a body and its length; stateless. */
final class HttpAnswers {
  private HttpAnswers() {}

  static FullHttpResponse text(HttpResponseStatus status, String line, boolean close) {
    return bytes(
        status,
        "text/plain; charset=utf-8",
        (line + "\n").getBytes(StandardCharsets.UTF_8),
        close);
  }

  static FullHttpResponse bytes(
      HttpResponseStatus status, String contentType, byte[] body, boolean close) {
    FullHttpResponse response =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
    response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    if (close) {
      response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return response;
  }
}
