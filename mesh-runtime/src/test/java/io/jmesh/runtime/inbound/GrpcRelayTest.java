package io.jmesh.runtime.inbound;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http2.DefaultHttp2Headers;
import org.junit.jupiter.api.Test;

/** The relay's pure parts: which requests are gRPC, and the wire form of grpc-message. */
class GrpcRelayTest {
  @Test
  void grpcIsTheContentTypeAndItsSubtypesInAnyCase() {
    assertThat(GrpcRelay.isGrpc(new DefaultHttp2Headers().set("content-type", "application/grpc"))).isTrue();
    assertThat(GrpcRelay.isGrpc(new DefaultHttp2Headers().set("content-type", "application/grpc+proto"))).isTrue();
    assertThat(GrpcRelay.isGrpc(new DefaultHttp2Headers().set("content-type", "Application/GRPC"))).isTrue();
    assertThat(GrpcRelay.isGrpc(new DefaultHttp2Headers().set("content-type", "application/grpc; charset=x"))).isTrue();
    // gRPC-Web is not what a gRPC server accepts: it stays on the HTTP path.
    assertThat(GrpcRelay.isGrpc(new DefaultHttp2Headers().set("content-type", "application/grpc-web+proto"))).isFalse();
    assertThat(GrpcRelay.isGrpc(new DefaultHttp2Headers().set("content-type", "application/json"))).isFalse();
    assertThat(GrpcRelay.isGrpc(new DefaultHttp2Headers())).isFalse();
  }

  @Test
  void grpcMessageIsPercentEncodedAsTheProtocolAsks() {
    assertThat(GrpcRelay.percentEncode("plain: /a.B/C ok")).isEqualTo("plain: /a.B/C ok");
    assertThat(GrpcRelay.percentEncode("100%")).isEqualTo("100%25");
    assertThat(GrpcRelay.percentEncode("line\nbreak")).isEqualTo("line%0Abreak");
    assertThat(GrpcRelay.percentEncode("é")).isEqualTo("%C3%A9"); // UTF-8 bytes
  }

  @Test
  void statusNamesAndServerErrors() {
    assertThat(GrpcRelay.statusName(7)).isEqualTo("PERMISSION_DENIED");
    assertThat(GrpcRelay.statusName(16)).isEqualTo("UNAUTHENTICATED");
    assertThat(GrpcRelay.statusName(99)).isEqualTo("99");
    assertThat(GrpcRelay.isServerError(14)).isTrue();
    assertThat(GrpcRelay.isServerError(5)).isFalse();
  }
}
