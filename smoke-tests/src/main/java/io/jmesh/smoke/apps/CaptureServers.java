package io.jmesh.smoke.apps;

import com.sun.net.httpserver.HttpServer;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.bootstrap.ServerBootstrap;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.ChannelFutureListener;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInitializer;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.SimpleChannelInboundHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.SocketChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.grpc.netty.shaded.io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.grpc.netty.shaded.io.netty.handler.codec.http.FullHttpRequest;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpHeaderNames;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpObjectAggregator;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpResponseStatus;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpServerCodec;
import io.grpc.netty.shaded.io.netty.handler.codec.http.HttpVersion;
import io.grpc.stub.ServerCalls;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Several servers in one JVM, each bound to the wildcard address as an application would, with no
 * mesh code: the JDK {@code HttpServer}, a Netty HTTP server on NIO and one on the native epoll
 * transport (the Netty relocated inside grpc-netty-shaded: the names an application of gRPC
 * carries), and a gRPC server (grpc-netty-shaded, epoll on Linux). Each HTTP answer is {@code
 * server=<kind> client=<x-jmesh-client-id or null>}; the gRPC answer is {@link GrpcHelloServer}'s.
 * Prints {@code READY} once all listen.
 *
 * <p>Usage: {@code CaptureServers --bind 0.0.0.0 --jdk P1 --nio P2 --epoll P3 --grpc P4 [--jetty P5]
 * [--netty-epoll P6]}
 */
public final class CaptureServers {
  private CaptureServers() {}

  private static final Metadata.Key<String> CLIENT_ID =
      Metadata.Key.of("x-jmesh-client-id", Metadata.ASCII_STRING_MARSHALLER);

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = HelloServer.parse(args);
    String bind = opts.getOrDefault("bind", "0.0.0.0");

    HttpServer jdk = HttpServer.create(new InetSocketAddress(bind, Integer.parseInt(opts.get("jdk"))), 64);
    jdk.createContext("/", exchange -> {
      byte[] body = answer("jdk", exchange.getRequestHeaders().getFirst("x-jmesh-client-id"));
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    jdk.start();

    netty("nio", new NioEventLoopGroup(1), NioServerSocketChannel.class, bind, Integer.parseInt(opts.get("nio")));
    netty("epoll", new EpollEventLoopGroup(1), EpollServerSocketChannel.class, bind, Integer.parseInt(opts.get("epoll")));

    ServerServiceDefinition greeter =
        ServerServiceDefinition.builder(GreeterService.SERVICE)
            .addMethod(
                GreeterService.SAY_HELLO,
                ServerCalls.asyncUnaryCall(
                    (String request, io.grpc.stub.StreamObserver<String> answers) -> {
                      answers.onNext(new String(answer("grpc", CALLER.get()), StandardCharsets.UTF_8));
                      answers.onCompleted();
                    }))
            .build();
    NettyServerBuilder.forAddress(new InetSocketAddress(bind, Integer.parseInt(opts.get("grpc"))))
        .addService(ServerInterceptors.intercept(greeter, new CallerInterceptor()))
        .build()
        .start();
    if (opts.containsKey("jetty")) {
      CapturePlainServers.jetty(bind, Integer.parseInt(opts.get("jetty")));
    }
    if (opts.containsKey("netty-epoll")) {
      CapturePlainServers.nettyEpoll(bind, Integer.parseInt(opts.get("netty-epoll")));
    }
    System.out.println("READY");
    System.out.flush();
    Thread.currentThread().join(); // until the test ends the JVM
  }

  private static final io.grpc.Context.Key<String> CALLER = io.grpc.Context.key("caller");

  private static final class CallerInterceptor implements ServerInterceptor {
    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
      io.grpc.Context context = io.grpc.Context.current().withValue(CALLER, headers.get(CLIENT_ID));
      return io.grpc.Contexts.interceptCall(context, call, headers, next);
    }
  }

  static byte[] answer(String kind, String client) {
    return ("server=" + kind + " client=" + client).getBytes(StandardCharsets.UTF_8);
  }

  private static void netty(
      String kind,
      EventLoopGroup group,
      Class<? extends io.grpc.netty.shaded.io.netty.channel.ServerChannel> type,
      String bind,
      int port)
      throws InterruptedException, IOException {
    new ServerBootstrap()
        .group(group)
        .channel(type)
        .childHandler(
            new ChannelInitializer<SocketChannel>() {
              @Override
              protected void initChannel(SocketChannel ch) {
                ch.pipeline()
                    .addLast(new HttpServerCodec())
                    .addLast(new HttpObjectAggregator(1 << 16))
                    .addLast(
                        new SimpleChannelInboundHandler<FullHttpRequest>() {
                          @Override
                          protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
                            DefaultFullHttpResponse response =
                                new DefaultFullHttpResponse(
                                    HttpVersion.HTTP_1_1,
                                    HttpResponseStatus.OK,
                                    Unpooled.wrappedBuffer(answer(kind, request.headers().get("x-jmesh-client-id"))));
                            response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
                            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
                          }
                        });
              }
            })
        .bind(new InetSocketAddress(bind, port))
        .sync();
  }
}
