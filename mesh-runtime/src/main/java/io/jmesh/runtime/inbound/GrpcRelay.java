package io.jmesh.runtime.inbound;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;

/**
 * gRPC through the inbound terminator: an HTTP/2 request whose {@code content-type} starts with
 * {@code application/grpc} is relayed, frame by frame, as an HTTP/2 stream to the application
 * over cleartext HTTP/2 with prior knowledge (h2c, which every gRPC server accepts), instead of
 * being aggregated and forwarded as HTTP/1.1. So unary, server-, client- and bidi-streaming calls
 * keep their streaming semantics, trailers ({@code grpc-status}) and flow control.
 *
 * <p>Per call:
 *
 * <ul>
 *   <li><b>authorized</b> with the existing {@link AuthorizationPolicy} as method {@code POST} and
 *       the path {@code /pkg.Service/Method}, so rules can name gRPC methods by path prefix. A
 *       denial is a trailers-only response (HTTP 200, {@code grpc-status: 7} PERMISSION_DENIED, a
 *       {@code grpc-message} naming the policy), counted as denied;
 *   <li><b>relayed</b>: the caller's headers (its {@code x-jmesh-*} headers removed, its proven
 *       identity in {@value InboundTerminator#CLIENT_ID_HEADER}; trace context from the server
 *       span), data, trailers (also without {@code x-jmesh-*}) and
 *       end of stream go to a new stream on an h2c connection to the application, and the
 *       application's headers, data and trailers come back the same way. RST_STREAM travels both
 *       ways with its error code: a caller's cancel resets the application's stream (a gRPC server
 *       sees the call cancelled), an application's reset resets the caller's stream;
 *   <li><b>back-pressured</b>: a side that reads stops reading (autoRead off) while the other
 *       side's stream is not writable (its HTTP/2 window is spent or its queue is above the high
 *       water mark) and resumes when it is writable again; a stream that does not read returns no
 *       window, so a fast producer on either side cannot make the relay buffer without bound;
 *   <li><b>failed closed</b>: an application that cannot be reached, or whose stream ends before
 *       it answered, gives the caller a trailers-only {@code grpc-status: 14} UNAVAILABLE naming
 *       its address, counted as unreachable; a stream that breaks after the answer began is reset
 *       ({@code INTERNAL_ERROR}). A stream the application's GOAWAY says it never processed resets
 *       the caller's with {@code REFUSED_STREAM}, which gRPC clients retry transparently.
 * </ul>
 *
 * <p>Three classes share the work: this one recognizes gRPC calls and diverts their streams
 * ({@link #divert}); {@link GrpcCall} relays one call between its two streams; {@link
 * GrpcApplicationConnections} keeps the h2c connections to the application, per event loop, and
 * opens the calls' streams on them.
 *
 * <p>Threading: everything of one call runs on the caller connection's event loop, and the
 * application's stream is opened on a connection of that same loop (as {@link ApplicationPool}
 * does for HTTP/1.1): no state is shared between threads except the connections' per-loop map and
 * closed flag. Every {@code ByteBuf} read is either written on (the write then owns it) or
 * released, exactly once: the frame that diverts a stream is handed on to the call's first
 * handler, which owns it from then on.
 */
final class GrpcRelay {
  static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
  static final AsciiString GRPC_MESSAGE = AsciiString.cached("grpc-message");
  private static final AsciiString APPLICATION_GRPC = AsciiString.cached("application/grpc");
  /** gRPC status codes used here; the rest only appear as names in metrics. */
  static final int OK = 0, CANCELLED = 1, PERMISSION_DENIED = 7, INTERNAL = 13, UNAVAILABLE = 14;
  private static final String[] STATUS_NAMES = {
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"
  };

  private final InboundContext inbound;
  private final GrpcApplicationConnections connections;

  GrpcRelay(InboundContext inbound) {
    this.inbound = inbound;
    this.connections =
        new GrpcApplicationConnections(
            inbound, InboundTerminator.perLoop(inbound.options().limits().maxGrpcConnectionsToApplication()));
  }

  /**
   * Whether an HTTP/2 request is a gRPC call: {@code application/grpc}, {@code
   * application/grpc+proto}, ... but not {@code application/grpc-web}, which a gRPC server does
   * not accept as is (it stays on the HTTP path).
   */
  static boolean isGrpc(Http2Headers headers) {
    CharSequence type = headers.get("content-type");
    int n = APPLICATION_GRPC.length();
    if (type == null || !AsciiString.regionMatches(type, true, 0, APPLICATION_GRPC, 0, n)) {
      return false;
    }
    return type.length() == n || type.charAt(n) == '+' || type.charAt(n) == ';';
  }

  /**
   * The first handler of a caller's HTTP/2 stream: a gRPC call replaces it and everything after it
   * (the HTTP/1.1 aggregation path) with the relay; any other request passes on unchanged.
   */
  ChannelHandler divert() {
    return new Divert();
  }

  /** Closes every connection to the application; the calls on them end as their streams close. */
  void close() {
    connections.close();
  }

  /** Connections to the application open now, over all loops (for tests). */
  int connections() {
    return connections.connections();
  }

  /** The gRPC name of a status code ({@code NOT_FOUND}), or the number for an unknown code. */
  static String statusName(int code) {
    return code >= 0 && code < STATUS_NAMES.length ? STATUS_NAMES[code] : Integer.toString(code);
  }

  /**
   * Codes that say the server failed rather than the request (the ones OpenTelemetry counts as
   * server errors for gRPC): UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE,
   * DATA_LOSS.
   */
  static boolean isServerError(int code) {
    return code == 2 || code == 4 || code == 12 || code == 13 || code == 14 || code == 15;
  }

  /**
   * {@code grpc-message} as the gRPC wire format wants it: UTF-8, every byte outside printable
   * ASCII and {@code %} itself percent-encoded.
   */
  static String percentEncode(String message) {
    byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder(bytes.length);
    for (byte b : bytes) {
      int c = b & 0xff;
      if (c >= 0x20 && c <= 0x7e && c != '%') {
        out.append((char) c);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return out.toString();
  }

  /** Decides, on the first frame of a caller's stream, whether it is a gRPC call. */
  private final class Divert extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Http2HeadersFrame h && isGrpc(h.headers())) {
        Http2StreamChannel stream = (Http2StreamChannel) ctx.channel();
        GrpcCall call =
            new GrpcCall(inbound, connections, stream, stream.parent().attr(InboundPipelines.CALLER).get());
        ChannelPipeline p = ctx.pipeline();
        while (p.last() != this) {
          p.removeLast(); // the HTTP/1.1 codec, the aggregator and HttpForwarder: not for this stream
        }
        p.replace(this, "grpc", call.callerHandler());
        p.fireChannelRead(msg);
      } else {
        ctx.fireChannelRead(msg);
        ctx.pipeline().remove(this);
      }
    }
  }
}
