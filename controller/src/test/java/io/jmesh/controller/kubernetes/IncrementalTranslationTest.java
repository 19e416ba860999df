package io.jmesh.controller.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.jmesh.controller.kubernetes.KubernetesTranslator.Memo;
import io.jmesh.controller.kubernetes.KubernetesTranslator.Translation;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The translation with a {@link Memo} kept across changes, as the source runs it, gives exactly
 * the translation without one after every change of a sequence: slices, pods, routes, objects
 * removed, and a switch to another cluster altogether.
 */
class IncrementalTranslationTest {
  private static final String TD = "cluster.local";

  @ParameterizedTest
  @ValueSource(strings = {
    "endpoints", "weighted-split", "grpc-method", "statuses", "filters", "consumer-route",
    "export-to", "reference-grant", "policy-retry-budget", "policy-authorization", "mirror"
  })
  void everyStepEqualsAFullTranslation(String fixture) {
    Memo memo = new Memo();
    List<HasMetadata> objects = new ArrayList<>(Fixtures.objects(fixture + "/objects.yaml"));
    List<UnaryOperator<List<HasMetadata>>> changes =
        List.of(
            o -> o, // nothing changed
            IncrementalTranslationTest::moveFirstEndpoint,
            IncrementalTranslationTest::relabelFirstPod,
            IncrementalTranslationTest::renameFirstPodsAccount,
            IncrementalTranslationTest::terminateFirstEndpoint,
            IncrementalTranslationTest::dropFirstPod,
            IncrementalTranslationTest::dropFirstRoute,
            IncrementalTranslationTest::dropFirstSlice,
            o -> new ArrayList<>(Fixtures.objects(fixture + "/objects.yaml")), // all back
            o -> new ArrayList<>(Fixtures.objects("endpoints/objects.yaml"))); // another cluster
    step(objects, memo);
    for (UnaryOperator<List<HasMetadata>> change : changes) {
      objects = change.apply(objects);
      step(objects, memo);
    }
  }

  @Test
  void anUnchangedClusterReusesEveryService() {
    Memo memo = new Memo();
    ClusterState state = Fixtures.state(Fixtures.objects("weighted-split/objects.yaml"));
    Translation first = KubernetesTranslator.translate(state, TD, memo);
    Translation second = KubernetesTranslator.translate(state, TD, memo);

    assertThat(memo.rebuilt()).isZero();
    assertThat(memo.reused()).isEqualTo(first.services().size());
    for (int i = 0; i < first.services().size(); i++) {
      assertThat(second.services().get(i)).isSameAs(first.services().get(i));
    }
  }

  @Test
  void aMovedEndpointRebuildsOnlyTheServicesThatReadIt() {
    Memo memo = new Memo();
    List<HasMetadata> objects = Fixtures.objects("endpoints/objects.yaml");
    Translation before = KubernetesTranslator.translate(Fixtures.state(objects), TD, memo);

    KubernetesTranslator.translate(Fixtures.state(moveFirstEndpoint(objects)), TD, memo);

    assertThat(before.services()).hasSizeGreaterThan(1);
    assertThat(memo.rebuilt()).isEqualTo(1);
    assertThat(memo.reused()).isEqualTo(before.services().size() - 1);
  }

  private static void step(List<HasMetadata> objects, Memo memo) {
    ClusterState state = Fixtures.state(objects);
    Translation incremental = KubernetesTranslator.translate(state, TD, memo);
    Translation full = KubernetesTranslator.translate(state, TD);
    assertThat(incremental).isEqualTo(full);
  }

  private static List<HasMetadata> moveFirstEndpoint(List<HasMetadata> objects) {
    return editFirstEndpoint(objects, e -> new EndpointBuilder(e).withAddresses("10.99.0.1").build());
  }

  private static List<HasMetadata> terminateFirstEndpoint(List<HasMetadata> objects) {
    return editFirstEndpoint(
        objects,
        e ->
            new EndpointBuilder(e)
                .withNewConditions()
                .withReady(false)
                .withServing(true)
                .withTerminating(true)
                .endConditions()
                .build());
  }

  private static List<HasMetadata> editFirstEndpoint(
      List<HasMetadata> objects, UnaryOperator<Endpoint> edit) {
    return replaceFirst(
        objects,
        EndpointSlice.class,
        s -> s.getEndpoints() != null && !s.getEndpoints().isEmpty(),
        s -> {
          List<Endpoint> endpoints = new ArrayList<>(s.getEndpoints());
          endpoints.set(0, edit.apply(endpoints.get(0)));
          return new EndpointSliceBuilder(s).withEndpoints(endpoints).build();
        });
  }

  private static List<HasMetadata> relabelFirstPod(List<HasMetadata> objects) {
    return replaceFirst(
        objects, Pod.class, p -> true,
        p -> new PodBuilder(p).editMetadata().addToLabels("version", "v9").endMetadata().build());
  }

  private static List<HasMetadata> renameFirstPodsAccount(List<HasMetadata> objects) {
    return replaceFirst(
        objects, Pod.class, p -> true,
        p -> new PodBuilder(p).editOrNewSpec().withServiceAccountName("renamed").endSpec().build());
  }

  private static List<HasMetadata> dropFirstPod(List<HasMetadata> objects) {
    return replaceFirst(objects, Pod.class, p -> true, p -> null);
  }

  private static List<HasMetadata> dropFirstRoute(List<HasMetadata> objects) {
    return replaceFirst(objects, HTTPRoute.class, r -> true, r -> null);
  }

  private static List<HasMetadata> dropFirstSlice(List<HasMetadata> objects) {
    return replaceFirst(objects, EndpointSlice.class, s -> true, s -> null);
  }

  /**
   * {@code objects} with the first {@code type} that {@code which} accepts replaced by a new
   * object ({@code edit}; null removes it), as an informer replaces a changed object.
   */
  private static <T extends HasMetadata> List<HasMetadata> replaceFirst(
      List<HasMetadata> objects,
      Class<T> type,
      java.util.function.Predicate<T> which,
      UnaryOperator<T> edit) {
    List<HasMetadata> out = new ArrayList<>(objects);
    for (int i = 0; i < out.size(); i++) {
      if (type.isInstance(out.get(i)) && which.test(type.cast(out.get(i)))) {
        T changed = edit.apply(type.cast(out.get(i)));
        if (changed == null) {
          out.remove(i);
        } else {
          out.set(i, changed);
        }
        return out;
      }
    }
    return out;
  }
}
