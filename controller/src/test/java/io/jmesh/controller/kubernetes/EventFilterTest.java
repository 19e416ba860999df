package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Which pod events can change the translation: those of pods a slice points to. */
class EventFilterTest {
  private final EventFilter filter = new EventFilter();

  @Test
  void aPodNoSlicePointsToDoesNotMatter() {
    filter.slice(null, slice("s1", "a-1"));

    assertThat(filter.podMatters(pod("b-1", "v1", "sa"))).isFalse();
    assertThat(filter.podUpdateMatters(pod("b-1", "v1", "sa"), pod("b-1", "v2", "sa"))).isFalse();
  }

  @Test
  void aPodASlicePointsToMattersWhenAddedOrDeleted() {
    filter.slice(null, slice("s1", "a-1"));

    assertThat(filter.podMatters(pod("a-1", "v1", "sa"))).isTrue();
  }

  @Test
  void anUpdateMattersOnlyWhenLabelsInjectionOrAccountChange() {
    filter.slice(null, slice("s1", "a-1"));
    Pod before = pod("a-1", "v1", "sa");

    assertThat(filter.podUpdateMatters(before, new PodBuilder(before).withNewStatus()
        .withPhase("Running").endStatus().build())).isFalse();
    assertThat(filter.podUpdateMatters(before, pod("a-1", "v2", "sa"))).isTrue();
    assertThat(filter.podUpdateMatters(before, pod("a-1", "v1", "other"))).isTrue();
    assertThat(filter.podUpdateMatters(before, new PodBuilder(before).editMetadata()
        .removeFromAnnotations(EndpointIndex.INJECT_ANNOTATION).endMetadata().build())).isTrue();
  }

  @Test
  void aPodStopsMatteringWhenNoSlicePointsToItAnyMore() {
    EndpointSlice one = slice("s1", "a-1", "a-2");
    EndpointSlice other = slice("s2", "a-2");
    filter.slice(null, one);
    filter.slice(null, other);

    EndpointSlice oneLater = slice("s1", "a-3");
    filter.slice(one, oneLater);
    assertThat(filter.podMatters(pod("a-1", "v1", "sa"))).isFalse();
    assertThat(filter.podMatters(pod("a-2", "v1", "sa"))).isTrue(); // s2 still points to it
    assertThat(filter.podMatters(pod("a-3", "v1", "sa"))).isTrue();

    filter.slice(other, null);
    filter.slice(oneLater, null);
    assertThat(filter.pointedTo()).isZero();
  }

  private static EndpointSlice slice(String name, String... pods) {
    return new EndpointSliceBuilder()
        .withNewMetadata().withName(name).withNamespace("mesh").endMetadata()
        .withAddressType("IPv4")
        .withEndpoints(
            Arrays.stream(pods)
                .map(p -> new io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder()
                    .withAddresses("10.0.0." + Math.abs(p.hashCode() % 200))
                    .withNewTargetRef().withKind("Pod").withName(p).endTargetRef()
                    .build())
                .toList())
        .build();
  }

  private static Pod pod(String name, String version, String account) {
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace("mesh")
        .addToLabels("version", version)
        .addToAnnotations(EndpointIndex.INJECT_ANNOTATION, "enabled")
        .endMetadata()
        .withNewSpec().withServiceAccountName(account).endSpec()
        .build();
  }
}
