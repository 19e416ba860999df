package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * Opaque TCP (a connection without HTTP, a database protocol say), relayed byte for byte: the last
 * handler of an authorized caller connection, with one connection to the application per caller
 * connection.
 *
 * <ul>
 *   <li><b>relayed</b>: what the caller sends (decrypted) is written to the application's
 *       connection, and what the application sends is written back to the caller (encrypted by
 *       its TLS handler). Bytes that arrive while the application's connection is being made wait
 *       in {@code early} and go first, in order;
 *   <li><b>closed both ways</b>: when one side closes, what was written to the other is flushed,
 *       then it is closed too. An application that refuses the connection closes the caller's.
 * </ul>
 *
 * <p>Threading: the application's connection is registered on the caller connection's event loop,
 * so both connections, the connect listener and {@code early} are confined to that one thread.
 * Every {@code ByteBuf} read is written on to the other side (the write then owns it) or, if the
 * application could not be reached, released here, exactly once. Unlike {@link GrpcCall}, it does
 * not apply back-pressure: a side that reads faster than the other writes is buffered in the
 * writer's outbound queue.
 */
final class OpaqueRelay extends ChannelInboundHandlerAdapter {
  private final Channel inbound;
  private final List<Object> early = new ArrayList<>();
  private Channel outbound;

  /**
   * Connects to the application at once.
   *
   * @param applicationAddress how the log names the application
   */
  OpaqueRelay(Channel inbound, InetSocketAddress application, String applicationAddress) {
    this.inbound = inbound;
    new Bootstrap()
        .group(inbound.eventLoop())
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .handler(
            new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                inbound.writeAndFlush(msg);
              }

              @Override
              public void channelInactive(ChannelHandlerContext ctx) {
                inbound.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
              }
            })
        .connect(application)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (!f.isSuccess()) {
                    RuntimeLog.log(
                        Level.WARNING,
                        "inbound: the application on " + applicationAddress
                            + " refused a relayed TCP connection: " + f.cause());
                    early.forEach(ReferenceCountUtil::release);
                    early.clear();
                    inbound.close();
                    return;
                  }
                  outbound = f.channel();
                  for (Object m : early) {
                    outbound.write(m);
                  }
                  early.clear();
                  outbound.flush();
                });
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (outbound == null) {
      early.add(msg); // same event loop as the connect listener: no race
    } else {
      outbound.writeAndFlush(msg);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (outbound != null) {
      outbound.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
