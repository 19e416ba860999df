package io.jmesh.runtime.config;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Edits of a request's or a response's headers, as Gateway API's {@code HTTPHeaderFilter} (and
 * Envoy's {@code *_headers_to_add}/{@code *_headers_to_remove}): {@code set} replaces every value
 * of a header (or adds it), {@code add} appends a value to those already there, {@code remove}
 * drops every value. Applied in that order: remove, set, add. Header names are case-insensitive;
 * one name appears at most once across the three lists.
 *
 * @param set headers to overwrite or add
 * @param add headers to append
 * @param remove header names to drop
 */
public record HeaderModifier(List<Header> set, List<Header> add, List<String> remove) {
  /** What a header value may hold, for error messages. */
  public static final String VALUE_EXPECTED = "one line of visible ASCII, space or tab";

  /**
   * The index of the first character of {@code value} that a route may not put in a header, or
   * -1. Visible ASCII, space and tab only: CR and LF would split the header, and OkHttp and HTTP/2
   * clients refuse the rest when the attempt is sent, which would fail the application's call
   * instead of the push.
   */
  public static int badValueChar(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c != '\t' && (c < 0x20 || c > 0x7e)) {
        return i;
      }
    }
    return -1;
  }

  /** Edits nothing. */
  public static final HeaderModifier NONE = new HeaderModifier(List.of(), List.of(), List.of());

  /** One header name and value. */
  public record Header(String name, String value) {
    public Header {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
      if (!MeshSyntax.TOKEN.matcher(name).matches()) {
        throw new IllegalArgumentException("header name: \"" + name + "\" (expected: an HTTP header name token)");
      }
      int bad = badValueChar(value);
      if (bad >= 0) {
        throw new IllegalArgumentException(
            "header "
                + name
                + ": value character "
                + (bad + 1)
                + " is U+"
                + String.format("%04X", (int) value.charAt(bad))
                + " (expected: "
                + VALUE_EXPECTED
                + ")");
      }
    }
  }

  public HeaderModifier {
    set = List.copyOf(set);
    add = List.copyOf(add);
    remove = List.copyOf(remove);
    Set<String> seen = new HashSet<>();
    for (Header h : set) {
      once(seen, h.name());
    }
    for (Header h : add) {
      once(seen, h.name());
    }
    for (String name : remove) {
      if (!MeshSyntax.TOKEN.matcher(name).matches()) {
        throw new IllegalArgumentException("remove: \"" + name + "\" (expected: an HTTP header name token)");
      }
      once(seen, name);
    }
  }

  /**
   * Headers no route edits: those that frame the message or the connection (the clients write them
   * and several refuse them from an application, so an edit could not apply everywhere), and the
   * mesh's own {@code x-jmesh-*}, and gRPC's reserved {@code grpc-*} and binary {@code *-bin}
   * metadata (gRPC calls take the same edits as text). The host is rewritten by {@link
   * UrlRewrite#hostname()}.
   */
  static final Set<String> NOT_EDITABLE =
      Set.of("connection", "content-length", "expect", "host", "keep-alive", "proxy-connection", "te",
          "trailer", "transfer-encoding", "upgrade");

  /** Why a route may not edit header {@code name} (the expectation), or {@code null} when it may. */
  static String notEditable(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    if (NOT_EDITABLE.contains(lower) || lower.startsWith("x-jmesh-") || lower.startsWith("grpc-")
        || lower.endsWith("-bin")) {
      return "a header other than the mesh's x-jmesh-*, gRPC's grpc-* and *-bin, and "
          + String.join(", ", new java.util.TreeSet<>(NOT_EDITABLE)) + "; rewrite.hostname changes the host";
    }
    return null;
  }

  private static void editable(String name) {
    String expected = notEditable(name);
    if (expected != null) {
      throw new IllegalArgumentException("header " + name + ": not editable by a route (expected: " + expected + ")");
    }
  }

  private static void once(Set<String> seen, String name) {
    editable(name);
    // As Gateway API requires: a name edited twice in one filter has no defined order.
    if (!seen.add(name.toLowerCase(Locale.ROOT))) {
      throw new IllegalArgumentException(
          "header " + name + ": edited twice (expected: each name once across set, add and remove)");
    }
  }

  public boolean isNone() {
    return set.isEmpty() && add.isEmpty() && remove.isEmpty();
  }
}
