package io.jmesh.runtime.inbound;

import io.jmesh.runtime.RuntimeLog;
import io.jmesh.runtime.deadline.Deadline;
import io.jmesh.runtime.deadline.DeadlineHeader;
import io.jmesh.runtime.time.Ticker;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The mesh's own headers ({@code x-jmesh-*}, in any case) on what a caller sends: none reaches
 * the application as the caller wrote it, on any path (HTTP/1.1 over TLS or plaintext, HTTP/2
 * converted to HTTP/1.1, gRPC relayed, request trailers). The listener then adds only what it
 * proves or computes itself: {@value InboundTerminator#CLIENT_ID_HEADER} from the verified
 * certificate, and {@value DeadlineHeader#NAME}, which a caller's agent legitimately sends: it is
 * read here first ({@link #deadline}) and written again with the time that remains when the
 * request leaves for the application. A caller may only shorten the application's deadline with
 * it, as with gRPC's {@code grpc-timeout}, so it is read from any caller; a malformed value is
 * dropped.
 *
 * <p>Stateless and thread-safe. Nothing is allocated for a request without such a header.
 */
final class MeshHeaders {
  private static final AsciiString PREFIX = AsciiString.cached("x-jmesh-");

  private MeshHeaders() {}

  /** Whether {@code name} is one of the mesh's headers, whatever its case. */
  static boolean isMesh(CharSequence name) {
    return name.length() >= PREFIX.length()
        && AsciiString.regionMatches(name, true, 0, PREFIX, 0, PREFIX.length());
  }

  /** Removes every {@code x-jmesh-*} header (HTTP/1.1 objects: headers or trailers). */
  static void strip(HttpHeaders headers) {
    if (headers.isEmpty()) {
      return;
    }
    List<String> found = null;
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
      CharSequence name = it.next().getKey();
      if (isMesh(name)) {
        found = add(found, name);
      }
    }
    if (found != null) {
      found.forEach(headers::remove);
    }
  }

  /** Removes every {@code x-jmesh-*} header (HTTP/2: a request's headers or its trailers). */
  static void strip(Http2Headers headers) {
    List<String> found = null;
    for (Map.Entry<CharSequence, CharSequence> e : headers) {
      if (isMesh(e.getKey())) {
        found = add(found, e.getKey());
      }
    }
    if (found != null) {
      found.forEach(headers::remove);
    }
  }

  private static List<String> add(List<String> found, CharSequence name) {
    List<String> list = found == null ? new ArrayList<>(2) : found;
    list.add(name.toString());
    return list;
  }

  /**
   * The caller's deadline, starting now on {@code ticker}, from its {@value DeadlineHeader#NAME}
   * value; {@code null} when there is none, or when it is malformed (logged at debug level).
   */
  static Deadline deadline(CharSequence value, Ticker ticker) {
    if (value == null) {
      return null;
    }
    try {
      return DeadlineHeader.parse(value.toString(), ticker);
    } catch (IllegalArgumentException e) {
      RuntimeLog.log(Level.DEBUG, "inbound: " + e.getMessage() + "; dropped, the application gets no deadline");
      return null;
    }
  }
}
