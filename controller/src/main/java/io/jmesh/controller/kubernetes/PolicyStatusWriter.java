package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Writes {@code status.conditions} of the jmesh policies through the status subresource, as
 * {@link RouteStatusWriter} writes routes' (and with its helpers): the {@code Accepted} condition
 * the translation gives, with {@code observedGeneration}; conditions of other types are kept. A
 * policy whose status would not change is not written, so the update event a write causes ends
 * there; a refused write is logged and tried again on the policy's next change.
 *
 * <p>Not thread-safe: called from the source's one thread, by the replica that leads.
 */
final class PolicyStatusWriter {
  private final KubernetesClient client;
  private final KubernetesSerialization json;
  private final Clock clock;
  private volatile int writes; // read by tests on another thread

  PolicyStatusWriter(KubernetesClient client, Clock clock) {
    this.client = Objects.requireNonNull(client, "client");
    this.json = client.getKubernetesSerialization();
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** How many statuses were written so far. */
  int writes() {
    return writes;
  }

  /** Brings the status of every policy in {@code state} to what {@code statuses} says. */
  void write(ClusterState state, Map<PolicyTranslator.Key, RouteStatus.Condition> statuses) {
    String now = RouteStatusWriter.now(clock);
    state.policies().forEach((kind, policies) -> {
      for (GenericKubernetesResource policy : policies) {
        var key = new PolicyTranslator.Key(
            kind, policy.getMetadata().getNamespace(), policy.getMetadata().getName());
        RouteStatus.Condition desired = statuses.get(key);
        if (desired == null) {
          continue;
        }
        Map<String, Object> status = status(policy);
        List<Condition> current = conditions(status.get("conditions"));
        List<Condition> next = new ArrayList<>(
            RouteStatusWriter.conditions(List.of(desired), current, policy.getMetadata().getGeneration(), now));
        current.stream().filter(c -> !desired.type().equals(c.getType())).forEach(next::add);
        if (next.equals(current)) {
          continue;
        }
        GenericKubernetesResource copy = Serialization.clone(policy);
        status.put("conditions", json.convertValue(next, List.class));
        copy.setAdditionalProperty("status", status);
        if (RouteStatusWriter.tryWrite(policy, () ->
            client.genericKubernetesResources(kind.context())
                .inNamespace(policy.getMetadata().getNamespace())
                .resource(copy)
                .updateStatus())) {
          writes++;
        }
      }
    });
  }

  /** A copy of the policy's {@code status}, empty when it has none. */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> status(GenericKubernetesResource policy) {
    Object status = policy.getAdditionalProperties().get("status");
    return status instanceof Map<?, ?> m ? new LinkedHashMap<>((Map<String, Object>) m) : new LinkedHashMap<>();
  }

  private List<Condition> conditions(Object node) {
    if (!(node instanceof List<?> items)) {
      return List.of();
    }
    List<Condition> out = new ArrayList<>();
    for (Object item : items) {
      out.add(json.convertValue(item, Condition.class));
    }
    return out;
  }
}
