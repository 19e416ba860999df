package io.jmesh.runtime.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Internal;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.UnknownFieldSet;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import org.junit.jupiter.api.Test;

/**
 * The decoder's checks without protobuf reflection (issue 20) must accept exactly what the
 * reflective checks accept: a set field not allowed, or an unknown one, still fails with the
 * reflective error.
 */
class DecodingContextTest {
  private final DecodingContext c = new DecodingContext("Cluster", "hello.default");

  @Test
  void theKnownFullNamesAreTheDescriptorsNames() {
    DecodingContext.FULL_NAMES.forEach(
        (type, name) -> {
          @SuppressWarnings("unchecked")
          Class<? extends Message> t = (Class<? extends Message>) type;
          assertThat(name).as(type.getName()).isEqualTo(Internal.getDefaultInstance(t).getDescriptorForType().getFullName());
        });
  }

  @Test
  void fieldsSetAndAllowedPassWithoutReflection() throws Exception {
    ConfigSource source =
        ConfigSource.newBuilder()
            .setAds(AggregatedConfigSource.getDefaultInstance()) // a message field set to its default
            .setResourceApiVersion(ApiVersion.V3)
            .build();
    assertThat(DecodingContext.onlyAllowedSet(source, "ads", "resource_api_version")).isTrue();
    c.only(source, "eds_config", "ads", "resource_api_version");
    assertThat(DecodingContext.onlyAllowedSet(ConfigSource.getDefaultInstance())).isTrue();
    Metadata labels =
        Metadata.newBuilder()
            .putFilterMetadata("envoy.lb", Struct.newBuilder().putFields("version", Value.newBuilder().setStringValue("v1").build()).build())
            .build();
    assertThat(DecodingContext.onlyAllowedSet(labels, "filter_metadata")).isTrue();
  }

  @Test
  void aFieldSetAndNotAllowedFailsWithTheReflectiveError() {
    ConfigSource source =
        ConfigSource.newBuilder()
            .setAds(AggregatedConfigSource.getDefaultInstance())
            .setResourceApiVersion(ApiVersion.V3)
            .build();
    assertThat(DecodingContext.onlyAllowedSet(source, "ads")).isFalse();
    assertThatThrownBy(() -> c.only(source, "eds_config", "ads"))
        .hasMessage(
            "Cluster hello.default: eds_config.resource_api_version: V3 (expected: unset: jmesh does not implement"
                + " resource_api_version; it reads only ads)");
    // A message field set to its default instance is set.
    assertThat(DecodingContext.onlyAllowedSet(source, "resource_api_version")).isFalse();
    // A scalar at its default is not set, as reflection sees it.
    FractionalPercent zero = FractionalPercent.newBuilder().setNumerator(0).build();
    assertThat(DecodingContext.onlyAllowedSet(zero)).isTrue();
    assertThat(DecodingContext.onlyAllowedSet(FractionalPercent.newBuilder().setNumerator(1).build(), "denominator"))
        .isFalse();
    assertThat(DecodingContext.onlyAllowedSet(LbEndpoint.newBuilder().setLoadBalancingWeight(
        com.google.protobuf.UInt32Value.of(0)).build(), "endpoint")).isFalse();
  }

  @Test
  void unknownFieldsFailWithTheReflectiveError() {
    ConfigSource source =
        ConfigSource.newBuilder()
            .setUnknownFields(
                UnknownFieldSet.newBuilder()
                    .addField(999, UnknownFieldSet.Field.newBuilder().addVarint(1).build())
                    .build())
            .build();
    assertThat(DecodingContext.onlyAllowedSet(source, "ads")).isFalse();
    assertThatThrownBy(() -> c.only(source, "eds_config", "ads"))
        .hasMessageContaining("unknown field numbers [999]");
  }

  @Test
  void aNameTheMessageDoesNotHaveAllowsNothing() {
    ConfigSource source = ConfigSource.newBuilder().setResourceApiVersion(ApiVersion.V3).build();
    assertThat(DecodingContext.onlyAllowedSet(source, "resourceApiVersion")).isFalse();
  }

  @Test
  void unpackChecksTheTypeNameAndParses() throws Exception {
    Listener listener = Listener.newBuilder().setName("hello.default.svc.cluster.local:8080").build();
    assertThat(DecodingContext.unpackResource(Any.pack(listener), Listener.class)).isEqualTo(listener);
    Any other = Any.pack(listener, "example.com/types");
    assertThat(DecodingContext.unpackResource(other, Listener.class)).isEqualTo(listener);
    Any wrong = Any.newBuilder().setTypeUrl("type.googleapis.com/envoy.config.cluster.v3.Cluster")
        .setValue(listener.toByteString()).build();
    assertThatThrownBy(() -> DecodingContext.unpackResource(wrong, Listener.class))
        .hasMessage("Type of the Any message does not match the given class.");
    assertThatThrownBy(() -> c.unpack(wrong, Listener.class, "x"))
        .hasMessage(
            "Cluster hello.default: x.type_url: type.googleapis.com/envoy.config.cluster.v3.Cluster (expected:"
                + " type.googleapis.com/envoy.config.listener.v3.Listener)");
    Any garbage = Any.newBuilder().setTypeUrl("type.googleapis.com/envoy.config.listener.v3.Listener")
        .setValue(ByteString.copyFrom(new byte[] {(byte) 0xff})).build();
    assertThatThrownBy(() -> c.unpack(garbage, Listener.class, "x")).hasMessageStartingWith("Cluster hello.default: x: undecodable bytes");
  }
}
