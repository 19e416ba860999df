package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.GRPCRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.gatewayapi.v1beta1.ReferenceGrant;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.jmesh.runtime.config.MeshConfigException;
import io.jmesh.runtime.config.MeshConfigParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.Yaml;

/** Reads the YAML fixtures under {@code src/test/resources/kubernetes/<case>/}. */
final class Fixtures {
  private Fixtures() {}

  static String text(String path) {
    try (InputStream in = Fixtures.class.getResourceAsStream("/kubernetes/" + path)) {
      if (in == null) {
        throw new IllegalArgumentException("no fixture " + path);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The objects of a multi-document YAML fixture, in order. */
  static List<HasMetadata> objects(String path) {
    List<HasMetadata> out = new ArrayList<>();
    for (String doc : text(path).split("(?m)^---\\s*$")) {
      if (doc.lines().anyMatch(l -> l.startsWith("kind:"))) {
        out.add(Serialization.unmarshal(doc));
      }
    }
    return out;
  }

  /** The translation of fixture {@code <case>/objects.yaml}, trust domain {@code cluster.local}. */
  static KubernetesTranslator.Translation translate(String fixture) {
    return KubernetesTranslator.translate(state(objects(fixture + "/objects.yaml")), "cluster.local");
  }

  /** The services the file source parses from fixture {@code <case>/mesh.yaml}. */
  static List<io.jmesh.runtime.config.Service> meshFile(String fixture) {
    try {
      return MeshConfigParser.parse(fixture + "/mesh.yaml", text(fixture + "/mesh.yaml"), "x").services();
    } catch (MeshConfigException e) {
      throw new IllegalStateException(fixture + "/mesh.yaml: " + e.getMessage(), e);
    }
  }

  /** Fixture {@code <case>/status.yaml}. */
  static Map<String, Object> status(String fixture) {
    return new Yaml().load(text(fixture + "/status.yaml"));
  }

  static ClusterState state(List<HasMetadata> objects) {
    return new ClusterState(
        of(objects, Service.class),
        of(objects, EndpointSlice.class),
        of(objects, Pod.class),
        of(objects, HTTPRoute.class),
        of(objects, GRPCRoute.class),
        of(objects, ReferenceGrant.class),
        policies(objects));
  }

  /** The jmesh policies among {@code objects}, by kind. */
  static Map<PolicyKind, List<GenericKubernetesResource>> policies(List<HasMetadata> objects) {
    Map<PolicyKind, List<GenericKubernetesResource>> out = new EnumMap<>(PolicyKind.class);
    for (GenericKubernetesResource r : of(objects, GenericKubernetesResource.class)) {
      out.computeIfAbsent(PolicyKind.valueOf(r.getKind()), k -> new ArrayList<>()).add(r);
    }
    return out;
  }

  static <T> List<T> of(List<HasMetadata> objects, Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).toList();
  }
}
