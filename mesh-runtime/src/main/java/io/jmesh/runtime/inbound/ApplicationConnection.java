package io.jmesh.runtime.inbound;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The last handler of each HTTP/1.1 connection to the application: hands the aggregated answer to
 * the {@link HttpExchange} whose request went out on it (one at a time: HTTP/1.1 without
 * pipelining), or breaks that exchange when the connection fails or closes first. {@link
 * #bootstrap} sets up the whole pipeline of such a connection.
 *
 * <p>Threading: the connection's event loop, which is the caller's ({@link ApplicationPool}).
 * Buffers: the response is released by this handler (a {@link SimpleChannelInboundHandler}) after
 * the exchange retained what it passes on; an answer nobody asked for is dropped and released.
 */
final class ApplicationConnection extends SimpleChannelInboundHandler<FullHttpResponse> {
  private HttpExchange current;

  /**
   * Connections to the application at {@code application}: HTTP/1.1 client codec, bodies
   * aggregated up to {@code maxBodyBytes}, then this handler. The group is replaced per connection
   * by the loop that asks ({@link ApplicationPool}).
   */
  static Bootstrap bootstrap(EventLoopGroup group, InetSocketAddress application, int maxBodyBytes) {
    return new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
        .remoteAddress(application)
        .handler(
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                ch.pipeline()
                    .addLast(
                        new HttpClientCodec(),
                        new HttpObjectAggregator(maxBodyBytes),
                        new ApplicationConnection());
              }
            });
  }

  void begin(HttpExchange e) {
    current = e;
  }

  void end(HttpExchange e) {
    if (current == e) {
      current = null;
    }
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
    HttpExchange e = current;
    current = null;
    if (e != null) {
      e.answered(ctx.channel(), response);
    } // else an answer nobody asked for: dropped (and released)
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    HttpExchange e = current;
    current = null;
    if (e != null) {
      e.broken(new IOException("connection closed before the response"));
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    HttpExchange e = current;
    current = null;
    ctx.close();
    if (e != null) {
      e.broken(cause);
    }
  }
}
