package io.jmesh.controller.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * Raw xDS resources that replace, by type and name, what the translator produced: an expert
 * escape hatch in the spirit of Istio's {@code EnvoyFilter}, for fields the YAML schema does not
 * have yet and for testing how agents treat a resource they cannot apply (they NACK it and keep
 * the last good one). Off unless the controller is given an overrides file.
 *
 * <p>The file is protobuf JSON: {@code {"resources": [{"@type":
 * "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "hello.default", ...}]}}. A
 * resource whose name the translation lacks is added. Immutable and thread-safe.
 */
public final class XdsOverrides {
  /** No override at all. */
  public static final XdsOverrides NONE = new XdsOverrides(List.of());

  private static final JsonFormat.TypeRegistry TYPES =
      JsonFormat.TypeRegistry.newBuilder()
          .add(Listener.getDescriptor())
          .add(RouteConfiguration.getDescriptor())
          .add(Cluster.getDescriptor())
          .add(ClusterLoadAssignment.getDescriptor())
          .add(HttpConnectionManager.getDescriptor())
          .add(Router.getDescriptor())
          .add(HTTPFault.getDescriptor())
          .add(com.github.xds.type.v3.TypedStruct.getDescriptor())
          .add(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.getDescriptor())
          .build();

  private final List<Message> resources;

  private XdsOverrides(List<Message> resources) {
    this.resources = List.copyOf(resources);
  }

  /**
   * Parses an overrides file.
   *
   * @param source names the file in error messages
   * @throws IllegalArgumentException naming the source, the resource index and the problem
   */
  public static XdsOverrides parse(String source, String json) {
    Struct.Builder root = Struct.newBuilder();
    try {
      JsonFormat.parser().merge(json, root);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException(source + ": not a JSON object: " + e.getMessage(), e);
    }
    Value list = root.getFieldsMap().get("resources");
    if (list == null || root.getFieldsCount() != 1 || !list.hasListValue()) {
      throw new IllegalArgumentException(
          source + ": fields " + root.getFieldsMap().keySet()
              + " (expected: exactly one field 'resources', a list)");
    }
    List<Message> out = new ArrayList<>();
    for (int i = 0; i < list.getListValue().getValuesCount(); i++) {
      String where = source + ": resources[" + i + "]";
      Any.Builder any = Any.newBuilder();
      try {
        String item = JsonFormat.printer().print(list.getListValue().getValues(i));
        JsonFormat.parser().usingTypeRegistry(TYPES).merge(item, any);
        out.add(unpack(any.build()));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalArgumentException(
            where + ": " + e.getMessage()
                + " (expected: a Listener, RouteConfiguration, Cluster or ClusterLoadAssignment"
                + " with its @type)",
            e);
      }
    }
    return new XdsOverrides(out);
  }

  private static Message unpack(Any any) throws InvalidProtocolBufferException {
    if (any.is(Listener.class)) {
      return any.unpack(Listener.class);
    } else if (any.is(RouteConfiguration.class)) {
      return any.unpack(RouteConfiguration.class);
    } else if (any.is(Cluster.class)) {
      return any.unpack(Cluster.class);
    } else if (any.is(ClusterLoadAssignment.class)) {
      return any.unpack(ClusterLoadAssignment.class);
    }
    throw new InvalidProtocolBufferException("@type " + any.getTypeUrl() + " is not a resource type");
  }

  /** How many resources this overrides. */
  public int size() {
    return resources.size();
  }

  /** {@code translated} with every override applied; the version gains the overrides' hash. */
  public XdsResources applyTo(XdsResources translated) {
    if (resources.isEmpty()) {
      return translated;
    }
    return new XdsResources(
        translated.version() + "+o" + Integer.toHexString(resources.hashCode()),
        merge(translated.listeners(), Listener.class, Listener::getName),
        merge(translated.routes(), RouteConfiguration.class, RouteConfiguration::getName),
        merge(translated.clusters(), Cluster.class, Cluster::getName),
        merge(
            translated.endpoints(),
            ClusterLoadAssignment.class,
            ClusterLoadAssignment::getClusterName));
  }

  private <T extends Message> List<T> merge(List<T> base, Class<T> type, Function<T, String> name) {
    Map<String, T> byName = new LinkedHashMap<>();
    for (T t : base) {
      byName.put(name.apply(t), t);
    }
    for (Message m : resources) {
      if (type.isInstance(m)) {
        T t = type.cast(m);
        byName.put(name.apply(t), t);
      }
    }
    return List.copyOf(byName.values());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof XdsOverrides other && resources.equals(other.resources);
  }

  @Override
  public int hashCode() {
    return Objects.hash(resources);
  }
}
