package io.jmesh.controller.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.jmesh.runtime.xds.XdsNames;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the translators of every resource type share: the ADS config source, protobuf durations,
 * and the {@code Struct} values of metadata.
 *
 * <p>Thread-safety: stateless.
 */
final class XdsValues {
  /** Where every resource refers to the next: the same ADS stream, v3. */
  static final ConfigSource ADS =
      ConfigSource.newBuilder()
          .setAds(AggregatedConfigSource.getDefaultInstance())
          .setResourceApiVersion(ApiVersion.V3)
          .build();

  private XdsValues() {}

  static Metadata lbMetadata(Map<String, String> labels) {
    Struct.Builder struct = Struct.newBuilder();
    new TreeMap<>(labels)
        .forEach((k, v) -> struct.putFields(k, Value.newBuilder().setStringValue(v).build()));
    return Metadata.newBuilder().putFilterMetadata(XdsNames.LB_METADATA, struct.build()).build();
  }

  static Value struct(Map<String, Value> fields) {
    return Value.newBuilder()
        .setStructValue(Struct.newBuilder().putAllFields(new TreeMap<>(fields)))
        .build();
  }

  static Value number(double value) {
    return Value.newBuilder().setNumberValue(value).build();
  }

  static com.google.protobuf.Duration duration(Duration d) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(d.getSeconds())
        .setNanos(d.getNano())
        .build();
  }
}
