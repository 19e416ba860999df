package io.jmesh.smoke.apps;

import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The smoke tests' gRPC service, {@code hello.Greeter}, described by hand instead of by protoc:
 * messages are UTF-8 strings, so the applications need no protobuf and no generated code. Shared
 * by {@link GrpcHelloServer} and its clients, as a {@code .proto} file would be.
 */
final class GreeterService {
  static final String SERVICE = "hello.Greeter";

  private GreeterService() {}

  /** A UTF-8 string as the whole message. */
  static final MethodDescriptor.Marshaller<String> UTF8 =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
          return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
          try {
            return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  /** {@code /hello.Greeter/SayHello}: one answer naming the instance. */
  static final MethodDescriptor<String, String> SAY_HELLO = method("SayHello", MethodDescriptor.MethodType.UNARY);

  /** {@code /hello.Greeter/SayHelloStream}: three answers, each naming the instance. */
  static final MethodDescriptor<String, String> SAY_HELLO_STREAM =
      method("SayHelloStream", MethodDescriptor.MethodType.SERVER_STREAMING);

  private static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<String, String>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(UTF8)
        .setResponseMarshaller(UTF8)
        .build();
  }

  /** The method called {@code --method unary|stream}. */
  static MethodDescriptor<String, String> byOption(String option) {
    switch (option) {
      case "unary":
        return SAY_HELLO;
      case "stream":
        return SAY_HELLO_STREAM;
      default:
        throw new IllegalArgumentException("--method " + option + " (expected: unary or stream)");
    }
  }
}
