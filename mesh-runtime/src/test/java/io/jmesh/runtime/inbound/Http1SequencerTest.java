package io.jmesh.runtime.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.telemetry.MeshMetrics;
import io.jmesh.runtime.time.FakeTicker;
import io.jmesh.runtime.trace.Tracing;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Http1Sequencer} in a pipeline of Netty's own HTTP/1.1 handlers, with the requests'
 * answers written by the test, in whatever order it likes: what goes on, what waits, when reading
 * stops and resumes, and what is released.
 */
class Http1SequencerTest {
  private final FakeTicker ticker = new FakeTicker();
  private final InboundStats stats = new InboundStats(MeshMetrics.noop().server("hello.default"));
  private final List<FullHttpRequest> letOn = new ArrayList<>();
  private final EmbeddedChannel channel = channel(2);

  private EmbeddedChannel channel(int maxReadAhead) {
    InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 8080);
    InboundContext inbound =
        new InboundContext(
            InboundTerminator.Options.of(loopback, loopback), null, stats, Tracing.disabled(), ticker, () -> 0);
    HttpServerCodec codec = new HttpServerCodec();
    return new EmbeddedChannel(
        codec,
        new Http1Sequencer(inbound, maxReadAhead, codec),
        new HttpServerKeepAliveHandler(),
        new HttpObjectAggregator(1024),
        new SimpleChannelInboundHandler<FullHttpRequest>() {
          @Override
          protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest r) {
            letOn.add(r.retain());
          }
        });
  }

  @AfterEach
  void releaseAll() {
    letOn.forEach(FullHttpRequest::release);
    channel.finishAndReleaseAll();
  }

  private void read(String bytes) {
    channel.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.US_ASCII));
  }

  private void answer(HttpResponseStatus status, String body) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII));
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length());
    channel.writeAndFlush(r);
    channel.runPendingTasks(); // the next request is let on in a task of the loop
  }

  private String written() {
    StringBuilder out = new StringBuilder();
    for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
      out.append(b.toString(StandardCharsets.ISO_8859_1));
      b.release();
    }
    return out.toString();
  }

  private List<String> paths() {
    return letOn.stream().map(FullHttpRequest::uri).toList();
  }

  private static String get(String path) {
    return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n";
  }

  @Test
  void aPipelinedRequestWaitsForTheAnswerBeforeItAndReadingStopsMeanwhile() {
    read(get("/1") + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello");

    assertThat(paths()).containsExactly("/1");
    assertThat(channel.config().isAutoRead()).isFalse();

    answer(HttpResponseStatus.OK, "one");

    assertThat(paths()).containsExactly("/1", "/2");
    assertThat(letOn.get(1).content().toString(StandardCharsets.US_ASCII)).isEqualTo("hello"); // its body followed it
    assertThat(channel.config().isAutoRead()).isTrue(); // nothing held: reading again
    answer(HttpResponseStatus.FORBIDDEN, "two");
    String out = written();
    assertThat(out.indexOf("one")).isLessThan(out.indexOf("403 Forbidden"));
  }

  @Test
  void aRequestReadWhileNothingIsOutstandingGoesOnAtOnce() {
    read(get("/1"));
    answer(HttpResponseStatus.OK, "one");
    read(get("/2"));

    assertThat(paths()).containsExactly("/1", "/2");
    assertThat(channel.config().isAutoRead()).isTrue(); // never paused: no pipelining, no cost
  }

  @Test
  void anInterimAnswerDoesNotLetTheNextRequestOn() {
    read("PUT /1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok" + get("/2"));

    assertThat(paths()).containsExactly("/1");
    assertThat(written()).startsWith("HTTP/1.1 100 Continue"); // the aggregator's own, for /1
    channel.runPendingTasks();
    assertThat(paths()).containsExactly("/1");
  }

  @Test
  void anAnswerThatClosesReleasesTheRequestsHeldBehindIt() {
    read("GET /1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        + "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello");

    answer(HttpResponseStatus.OK, "one"); // the keep-alive handler says close, as /1 asked

    assertThat(paths()).containsExactly("/1");
    assertThat(written()).contains("connection: close").endsWith("one");
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void beyondTheReadAheadBoundA503IsAnsweredInItsTurnAndTheConnectionClosed() {
    read(get("/1") + get("/2") + get("/3") + get("/4") + get("/5") + get("/6"));
    assertThat(paths()).containsExactly("/1"); // /2 and /3 held, /4 refused, /5 and /6 never decoded

    answer(HttpResponseStatus.OK, "one");
    answer(HttpResponseStatus.OK, "two");
    assertThat(channel.isOpen()).isTrue();
    answer(HttpResponseStatus.OK, "three");

    assertThat(paths()).containsExactly("/1", "/2", "/3");
    String out = written();
    assertThat(out).startsWith("HTTP/1.1 200 OK").contains("one", "two", "three");
    assertThat(out.substring(out.indexOf("three")))
        .contains("HTTP/1.1 503 Service Unavailable", "connection: close")
        .endsWith("jmesh: more than 2 requests pipelined on this connection before their answers"
            + " (expected: at most 2 read ahead); send the rest on a new connection\n");
    assertThat(channel.isOpen()).isFalse();
    assertThat(stats.refusals(InboundStats.Refusal.PIPELINE_FULL)).isEqualTo(1);
    assertThat(stats.requests()).isEqualTo(1); // the refused one; the test answered the others
  }
}
