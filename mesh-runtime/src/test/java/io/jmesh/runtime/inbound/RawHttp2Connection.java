package io.jmesh.runtime.inbound;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * An HTTP/2 caller that writes frames by hand over mesh TLS (ALPN {@code h2}), so that a test can
 * do what no well-behaved client library does: open streams beyond the server's limit, reset them
 * as fast as it opens them. Frames are queued with {@link #headers} and {@link #rst} and sent in
 * one write by {@link #flush}; {@link #read} returns the server's frames one at a time (and
 * acknowledges its SETTINGS). Not thread-safe: one test thread.
 */
final class RawHttp2Connection implements AutoCloseable {
  static final int DATA = 0x0, HEADERS = 0x1, RST_STREAM = 0x3, SETTINGS = 0x4, GOAWAY = 0x7;
  static final int ENHANCE_YOUR_CALM = 0xb, REFUSED_STREAM = 0x7;

  /** A frame the server sent. */
  record Frame(int type, int flags, int streamId, byte[] payload) {
    /** A GOAWAY's or RST_STREAM's error code. */
    long errorCode() {
      int at = type == GOAWAY ? 4 : 0;
      return ((payload[at] & 0xffL) << 24) | ((payload[at + 1] & 0xff) << 16) | ((payload[at + 2] & 0xff) << 8) | (payload[at + 3] & 0xff);
    }
  }

  private final SSLSocket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
  private final ByteArrayOutputStream queued = new ByteArrayOutputStream();

  RawHttp2Connection(SSLContext tls, int port) throws IOException {
    socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port);
    socket.setSoTimeout(10_000); // every read is bounded
    SSLParameters p = socket.getSSLParameters();
    p.setProtocols(new String[] {"TLSv1.3"});
    p.setApplicationProtocols(new String[] {"h2"});
    socket.setSSLParameters(p);
    socket.startHandshake();
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
    queued.writeBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    frame(SETTINGS, 0, 0, new byte[0]);
    flush();
  }

  String alpn() {
    return socket.getApplicationProtocol();
  }

  RawHttp2Connection headers(int streamId, Http2Headers headers, boolean endStream) throws Http2Exception {
    ByteBuf block = Unpooled.buffer();
    encoder.encodeHeaders(streamId, headers, block);
    frame(HEADERS, 0x4 /* END_HEADERS */ | (endStream ? 0x1 : 0), streamId, ByteBufUtil.getBytes(block));
    block.release();
    return this;
  }

  RawHttp2Connection rst(int streamId, int errorCode) {
    frame(RST_STREAM, 0, streamId, new byte[] {(byte) (errorCode >>> 24), (byte) (errorCode >>> 16), (byte) (errorCode >>> 8), (byte) errorCode});
    return this;
  }

  void flush() throws IOException {
    out.write(queued.toByteArray());
    out.flush();
    queued.reset();
  }

  /** The server's next frame; null once it closed the connection. Acknowledges its SETTINGS. */
  Frame read() throws IOException {
    byte[] header = new byte[9];
    try {
      in.readFully(header);
    } catch (EOFException e) {
      return null;
    }
    int length = ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
    int streamId = ((header[5] & 0x7f) << 24) | ((header[6] & 0xff) << 16) | ((header[7] & 0xff) << 8) | (header[8] & 0xff);
    byte[] payload = new byte[length];
    in.readFully(payload);
    Frame f = new Frame(header[3] & 0xff, header[4] & 0xff, streamId, payload);
    if (f.type() == SETTINGS && (f.flags() & 0x1) == 0) {
      frame(SETTINGS, 0x1, 0, new byte[0]);
      try {
        flush();
      } catch (IOException closedAlready) {
        queued.reset(); // the server may have closed the connection after its SETTINGS: read on
      }
    }
    return f;
  }

  /** Reads until the server's GOAWAY, which it returns; null if the connection ended without one. */
  Frame readUntilGoAway() throws IOException {
    for (Frame f; (f = read()) != null; ) {
      if (f.type() == GOAWAY) {
        return f;
      }
    }
    return null;
  }

  private void frame(int type, int flags, int streamId, byte[] payload) {
    int n = payload.length;
    queued.write(n >>> 16);
    queued.write(n >>> 8);
    queued.write(n);
    queued.write(type);
    queued.write(flags);
    queued.write(streamId >>> 24);
    queued.write(streamId >>> 16);
    queued.write(streamId >>> 8);
    queued.write(streamId);
    queued.writeBytes(payload);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
