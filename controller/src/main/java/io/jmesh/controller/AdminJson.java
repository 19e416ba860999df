package io.jmesh.controller;

import com.google.gson.FormattingStyle;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.TypeAdapter;
import com.google.gson.TypeAdapterFactory;
import com.google.gson.reflect.TypeToken;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonWriter;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.jmesh.controller.ca.CertificateAuthority;
import io.jmesh.controller.xds.AgentStatus;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.HeaderMatch;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.config.Service;
import io.jmesh.runtime.config.ServiceEndpoint;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON documents of the admin API: each built as a tree of plain values ({@link Map} in field
 * order, {@link List}, {@link String}, {@link Integer}, {@link Long}, {@link Double}, {@link
 * Boolean}, {@link Instant} and {@code null}) and written by Gson with {@link #write}. The field
 * names are an API: {@code controller/README.md} lists them, and a field is only ever added, never
 * renamed or removed. Absent values are written as {@code null}, never left out, so that a reader
 * can rely on every field being there.
 *
 * <p>Thread-safety: stateless.
 */
final class AdminJson {
  /** The node metadata field in which an agent announces its admin port. */
  static final String ADMIN_PORT = "jmesh.admin.port";

  // Lists of scalars (ports, resource names) on one line, "[8080, 8081]": short, and they read
  // better so. Everything else as Gson's pretty printing, two-space indent.
  private static final Gson ONE_LINE =
      gson().setFormattingStyle(FormattingStyle.COMPACT.withSpaceAfterSeparators(true)).create();
  private static final Gson PRETTY =
      gson()
          .setFormattingStyle(FormattingStyle.PRETTY)
          .registerTypeAdapterFactory(new ScalarListsOnOneLine())
          .create();

  private AdminJson() {}

  /** {@code document} as pretty-printed JSON with a final newline, as the admin API serves it. */
  static String write(Object document) {
    return PRETTY.toJson(document) + "\n";
  }

  private static GsonBuilder gson() {
    return new GsonBuilder()
        .serializeNulls()
        // The documents are served as application/json, never inside HTML.
        .disableHtmlEscaping()
        .registerTypeAdapter(Instant.class, new InstantAsString().nullSafe());
  }

  /** {@code GET /snapshot}. */
  static Map<String, Object> snapshot(AdminModel.SnapshotStatus status) {
    MeshSnapshot applied = status.applied();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("version", applied == null ? null : applied.version());
    out.put("appliedAt", status.appliedAt());
    out.put("source", status.source());
    out.put("sourceVersion", status.sourceVersion());
    out.put("lastError", status.sourceError());
    out.put("translationError", status.translationError());
    out.put("servedVersion", status.servedVersion());
    out.put("overrides", status.overrides());
    out.put("overridesError", status.overridesError());
    List<Object> services = new ArrayList<>();
    int endpoints = 0;
    if (applied != null) {
      for (Service service : applied.services()) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("name", service.name());
        s.put("namespace", service.namespace());
        s.put("ports", List.copyOf(service.ports()));
        s.put("endpoints", service.endpoints().size());
        s.put("routes", service.routes().size());
        services.add(s);
        endpoints += service.endpoints().size();
      }
    }
    out.put("serviceCount", services.size());
    out.put("endpointCount", endpoints);
    out.put("services", services);
    return out;
  }

  /**
   * {@code GET /services/<name>}: one service of the snapshot served, whole: its routes in match
   * order (the implicit default route is not listed), endpoints and identities. What {@code jmesh
   * routes} and {@code jmesh endpoints} print.
   */
  static Map<String, Object> service(Service service, String snapshotVersion) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("version", snapshotVersion);
    out.put("name", service.name());
    out.put("namespace", service.namespace());
    out.put("ports", List.copyOf(service.ports()));
    out.put("balancer", service.policy().balancer().toString());
    List<Object> identities = new ArrayList<>();
    service.identities().forEach(id -> identities.add(id.toString()));
    out.put("identities", identities);
    List<Object> routes = new ArrayList<>();
    for (Route route : service.routes()) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("name", route.name());
      List<Object> matches = new ArrayList<>();
      for (RouteMatch match : route.matches()) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("path", match.path() == null ? null : match.path().type() + " " + match.path().value());
        m.put("method", match.method());
        List<Object> headers = new ArrayList<>();
        for (HeaderMatch h : match.headers()) {
          headers.add(h.name() + " " + h.type() + " " + h.value());
        }
        m.put("headers", headers);
        matches.add(m);
      }
      r.put("matches", matches);
      List<Object> backends = new ArrayList<>();
      for (Backend b : route.backends()) {
        Map<String, Object> backend = new LinkedHashMap<>();
        backend.put("subset", new LinkedHashMap<String, Object>(new java.util.TreeMap<>(b.subset())));
        backend.put("weight", b.weight());
        backends.add(backend);
      }
      r.put("backends", backends);
      RoutePolicy policy = route.policy();
      r.put("timeoutMillis", policy.timeout() == null ? null : policy.timeout().toMillis());
      r.put("retryAttempts", policy.retry().attempts());
      List<Object> onStatus = new ArrayList<>(new java.util.TreeSet<>(policy.retry().onStatus()));
      r.put("retryOnStatus", onStatus);
      r.put("retryOnGrpc", new ArrayList<Object>(io.jmesh.runtime.config.GrpcRetryConditions.names(policy.retry().onGrpcStatus())));
      r.put("faultAbortPercent", policy.fault().abortPercent());
      r.put("faultDelayPercent", policy.fault().delayPercent());
      routes.add(r);
    }
    out.put("routes", routes);
    List<Object> endpoints = new ArrayList<>();
    for (ServiceEndpoint e : service.endpoints()) {
      Map<String, Object> endpoint = new LinkedHashMap<>();
      endpoint.put("host", e.host());
      endpoint.put("port", e.port());
      endpoint.put("weight", e.weight());
      endpoint.put("priority", e.priority());
      endpoint.put("labels", new LinkedHashMap<String, Object>(new java.util.TreeMap<>(e.labels())));
      endpoints.add(endpoint);
    }
    out.put("endpoints", endpoints);
    return out;
  }

  /** {@code GET /agents}. */
  static Map<String, Object> agents(List<AgentStatus> agents) {
    List<Object> list = new ArrayList<>(agents.size());
    for (AgentStatus agent : agents) {
      list.add(agent(agent));
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("agentCount", list.size());
    out.put("agents", list);
    return out;
  }

  static Map<String, Object> agent(AgentStatus agent) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("streamId", agent.streamId());
    out.put("nodeId", agent.nodeId());
    out.put("nodeCluster", agent.nodeCluster());
    out.put("userAgent", agent.userAgent());
    out.put("metadata", struct(agent.metadata()));
    out.put("remoteAddress", agent.remoteAddress());
    out.put("adminAddress", adminAddress(agent));
    out.put("identity", agent.identity());
    out.put("connectedSince", agent.connectedSince());
    Map<String, Object> types = new LinkedHashMap<>();
    agent.types().forEach((name, type) -> types.put(name, type(type)));
    out.put("types", types);
    return out;
  }

  /**
   * Where the agent's admin endpoint is: the host its ADS stream came from (the agent binds the
   * admin port on every interface by default) and the port it announced as node metadata {@value
   * #ADMIN_PORT}; null when either is unknown (an agent with the admin endpoint off, or an older
   * one). The {@code jmesh} CLI reads it to scrape and tap every agent.
   */
  static String adminAddress(AgentStatus agent) {
    Value port = agent.metadata().getFieldsMap().get(ADMIN_PORT);
    String remote = agent.remoteAddress();
    if (port == null || port.getStringValue().isEmpty() || remote == null) {
      return null;
    }
    int colon = remote.lastIndexOf(':');
    return colon <= 0 ? null : remote.substring(0, colon) + ":" + port.getStringValue();
  }

  private static Map<String, Object> type(AgentStatus.TypeStatus type) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("typeUrl", type.typeUrl());
    out.put("wildcard", type.wildcard());
    out.put("subscribed", type.subscribed());
    out.put("servedVersion", type.servedVersion());
    out.put("sentVersion", type.sentVersion());
    out.put("sentNonce", type.sentNonce());
    out.put("sentAt", type.sentAt());
    out.put("sentResources", type.sentResources());
    out.put("ackedVersion", type.ackedVersion());
    out.put("ackedAt", type.ackedAt());
    out.put("nacked", type.nacked());
    AgentStatus.Nack nack = type.lastNack();
    if (nack == null) {
      out.put("lastNack", null);
    } else {
      Map<String, Object> n = new LinkedHashMap<>();
      n.put("version", nack.version());
      n.put("code", nack.code());
      n.put("message", nack.message());
      n.put("at", nack.at());
      out.put("lastNack", n);
    }
    return out;
  }

  /**
   * {@code GET /ca}: what the certificate authority serves, certificates only (never a key);
   * {@code enabled: false} and nulls without one.
   */
  static Map<String, Object> ca(CertificateAuthority ca) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("enabled", ca != null);
    out.put("trustDomain", ca == null ? null : ca.trustDomain());
    out.put("dir", ca == null || ca.dir() == null ? null : ca.dir().toString());
    out.put("location", ca == null ? null : ca.location());
    out.put("maxLeafLifetimeSeconds", ca == null ? null : ca.maxLeafLifetime().toSeconds());
    out.put("issuer", ca == null ? null : certificate(ca.issuer()));
    List<Object> anchors = new ArrayList<>();
    if (ca != null) {
      for (X509Certificate anchor : ca.anchors()) {
        anchors.add(certificate(anchor));
      }
    }
    out.put("anchors", anchors);
    return out;
  }

  private static Map<String, Object> certificate(X509Certificate certificate) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("subject", certificate.getSubjectX500Principal().getName());
    out.put("issuer", certificate.getIssuerX500Principal().getName());
    out.put("serial", certificate.getSerialNumber().toString(16));
    out.put("notBefore", certificate.getNotBefore().toInstant());
    out.put("notAfter", certificate.getNotAfter().toInstant());
    // What an operator compares with `openssl x509 -noout -fingerprint -sha256` of a copy.
    try {
      out.put(
          "sha256",
          HexFormat.ofDelimiter(":")
              .withUpperCase()
              .formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded())));
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      throw new IllegalStateException(
          "cannot fingerprint " + certificate.getSubjectX500Principal(), e);
    }
    return out;
  }

  /** A protobuf {@link Struct} as the JSON object it stands for (as {@code JsonFormat} does). */
  static Map<String, Object> struct(Struct struct) {
    Map<String, Object> out = new LinkedHashMap<>();
    // Sorted: the map of a Struct has no order of its own, and the output should be stable.
    new java.util.TreeMap<>(struct.getFieldsMap()).forEach((k, v) -> out.put(k, value(v)));
    return out;
  }

  private static Object value(Value value) {
    switch (value.getKindCase()) {
      case NUMBER_VALUE:
        return number(value.getNumberValue());
      case STRING_VALUE:
        return value.getStringValue();
      case BOOL_VALUE:
        return value.getBoolValue();
      case STRUCT_VALUE:
        return struct(value.getStructValue());
      case LIST_VALUE:
        return list(value.getListValue());
      case NULL_VALUE:
      case KIND_NOT_SET:
      default:
        return null;
    }
  }

  private static List<Object> list(ListValue list) {
    List<Object> out = new ArrayList<>(list.getValuesCount());
    for (Value v : list.getValuesList()) {
      out.add(value(v));
    }
    return out;
  }

  /**
   * A Struct's number as JSON writes it best: integral values without a fraction ({@code 4}, not
   * {@code 4.0}: a port or a count was meant), NaN and infinities as strings (JSON has no such
   * numbers; a string keeps the information and stays parseable).
   */
  static Object number(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      return Double.toString(d);
    }
    if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      return (long) d;
    }
    return d;
  }

  /** ISO-8601, as {@link Instant#toString()}. */
  private static final class InstantAsString extends TypeAdapter<Instant> {
    @Override
    public void write(JsonWriter out, Instant value) throws IOException {
      out.value(value.toString());
    }

    @Override
    public Instant read(JsonReader in) {
      throw new UnsupportedOperationException("the admin documents are only written");
    }
  }

  /** Writes a list that holds no map and no list with {@link #ONE_LINE}, others as usual. */
  private static final class ScalarListsOnOneLine implements TypeAdapterFactory {
    @Override
    public <T> TypeAdapter<T> create(Gson gson, TypeToken<T> type) {
      if (!List.class.isAssignableFrom(type.getRawType())) {
        return null;
      }
      TypeAdapter<T> usual = gson.getDelegateAdapter(this, type);
      return new TypeAdapter<T>() {
        @Override
        public void write(JsonWriter out, T value) throws IOException {
          if (value != null
              && ((List<?>) value).stream().noneMatch(v -> v instanceof Map || v instanceof List)) {
            out.jsonValue(ONE_LINE.toJson(value));
          } else {
            usual.write(out, value);
          }
        }

        @Override
        public T read(JsonReader in) {
          throw new UnsupportedOperationException("the admin documents are only written");
        }
      };
    }
  }
}
