package io.jmesh.smoke.apps;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;

/**
 * A small gRPC service (grpc-netty-shaded, plaintext) for smoke tests and benchmarks, the gRPC
 * counterpart of {@link HelloServer}: {@code /hello.Greeter/SayHello} answers one line naming the
 * instance, its version, the method, the {@code :authority} and what it received (the request,
 * the {@code x-jmesh-client-id} metadata a jmesh inbound listener adds), padded to {@code
 * --body-bytes}; {@code /hello.Greeter/SayHelloStream} answers the same line three times. Prints
 * {@code READY <port>} once it listens. No mesh code: it is what runs behind an agent.
 *
 * <p>Usage: {@code GrpcHelloServer --name a --version v1 --bind 127.0.0.1 --port 18081
 * [--body-bytes 1024]}
 */
public final class GrpcHelloServer {
  private static final Metadata.Key<String> CLIENT_ID =
      Metadata.Key.of("x-jmesh-client-id", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<String> CALLER = Context.key("caller");
  private static final Context.Key<String> AUTHORITY = Context.key("authority");

  private GrpcHelloServer() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    Map<String, String> opts = HelloServer.parse(args);
    String name = opts.getOrDefault("name", "hello");
    String version = opts.getOrDefault("version", "v1");
    String bind = opts.getOrDefault("bind", "127.0.0.1");
    int port = Integer.parseInt(opts.getOrDefault("port", "0"));
    int bodyBytes = Integer.parseInt(opts.getOrDefault("body-bytes", "0"));

    ServerServiceDefinition greeter =
        ServerServiceDefinition.builder(GreeterService.SERVICE)
            .addMethod(
                GreeterService.SAY_HELLO,
                ServerCalls.asyncUnaryCall(
                    (request, answers) -> {
                      answers.onNext(answer(name, version, "/" + GreeterService.SAY_HELLO.getFullMethodName(), request, bodyBytes));
                      answers.onCompleted();
                    }))
            .addMethod(
                GreeterService.SAY_HELLO_STREAM,
                ServerCalls.asyncServerStreamingCall(
                    (String request, StreamObserver<String> answers) -> {
                      String line = answer(name, version, "/" + GreeterService.SAY_HELLO_STREAM.getFullMethodName(), request, bodyBytes);
                      for (int i = 0; i < 3; i++) {
                        answers.onNext(line);
                      }
                      answers.onCompleted();
                    }))
            .build();
    Server server =
        NettyServerBuilder.forAddress(new InetSocketAddress(bind, port))
            .addService(ServerInterceptors.intercept(greeter, new CallerInterceptor()))
            .build()
            .start();
    System.out.println("READY " + server.getPort());
    System.out.flush();
    server.awaitTermination();
  }

  /** Puts the caller's identity (from the mesh, when it is there) and the authority in the call's context. */
  private static final class CallerInterceptor implements ServerInterceptor {
    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, A> call, Metadata headers, ServerCallHandler<Q, A> next) {
      Context context =
          Context.current()
              .withValue(CALLER, headers.get(CLIENT_ID))
              .withValue(AUTHORITY, call.getAuthority());
      return Contexts.interceptCall(context, call, headers, next);
    }
  }

  private static String answer(String name, String version, String method, String request, int bodyBytes) {
    String line =
        "instance="
            + name
            + " version="
            + version
            + " method="
            + method
            + " authority="
            + AUTHORITY.get()
            + " client="
            + CALLER.get()
            + " received="
            + (request.length() > 32 ? request.substring(0, 32) + "..." : request);
    StringBuilder body = new StringBuilder(Math.max(bodyBytes, line.length())).append(line);
    while (body.length() < bodyBytes) {
      body.append('.');
    }
    return body.toString();
  }
}
