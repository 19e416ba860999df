package io.jmesh.injector.server;

import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.jmesh.injector.InjectorSettings;
import io.jmesh.injector.PodAdmission;
import io.jmesh.injector.PodInjector;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** AdmissionReview v1 texts as the API server sends them, and readers of the answers. */
final class Reviews {
  static final JsonMapper JSON = JsonMapper.builder().build();
  static final InjectorSettings SETTINGS =
      InjectorSettings.defaults(
          "0.1.0-test", "ghcr.io/jmesh/agent:0.1.0", "jmesh-controller.jmesh-system.svc:18000");

  private Reviews() {}

  static PodAdmission admission() {
    return new PodAdmission(new PodInjector(SETTINGS));
  }

  /**
   * A CREATE of a ReplicaSet's pod in {@code namespace}, as the API server sends it (name not yet
   * set, generateName, userInfo, options), the pod carrying {@code podLabels} (a JSON object).
   */
  static String podCreate(String uid, String namespace, String podLabels) {
    return """
        {"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1",
         "request":{"uid":"%s",
          "kind":{"group":"","version":"v1","kind":"Pod"},
          "resource":{"group":"","version":"v1","resource":"pods"},
          "requestKind":{"group":"","version":"v1","kind":"Pod"},
          "requestResource":{"group":"","version":"v1","resource":"pods"},
          "namespace":"%s","operation":"CREATE",
          "userInfo":{"username":"system:serviceaccount:kube-system:replicaset-controller",
            "uid":"5c2f","groups":["system:serviceaccounts","system:authenticated"]},
          "object":{"kind":"Pod","apiVersion":"v1",
            "metadata":{"generateName":"hello-7d4b9c-","namespace":"%s","labels":%s,
              "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"hello-7d4b9c",
                "uid":"e1f0","controller":true,"blockOwnerDeletion":true}]},
            "spec":{"serviceAccountName":"hello","containers":[{"name":"app","image":"hello:1",
              "ports":[{"containerPort":8080,"protocol":"TCP"}],
              "resources":{},"terminationMessagePath":"/dev/termination-log",
              "terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],
              "restartPolicy":"Always","dnsPolicy":"ClusterFirst"},
            "status":{}},
          "oldObject":null,"dryRun":false,
          "options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}}
        """
        .formatted(uid, namespace, namespace, podLabels);
  }

  static ObjectMeta namespace(String name, String inject) {
    ObjectMeta meta = new ObjectMeta();
    meta.setName(name);
    if (inject != null) {
      meta.setLabels(java.util.Map.of("jmesh.io/inject", inject));
    }
    return meta;
  }

  static JsonNode response(byte[] body) {
    return JSON.readTree(body).get("response");
  }

  static JsonNode response(String body) {
    return response(body.getBytes(StandardCharsets.UTF_8));
  }

  /** The pod of {@code review} with the answer's JSON Patch applied (RFC 6902, zjsonpatch). */
  static JsonNode patched(String review, JsonNode response) {
    JsonNode pod = JSON.readTree(review).get("request").get("object");
    JsonNode patch = JSON.readTree(Base64.getDecoder().decode(response.get("patch").asString()));
    return io.fabric8.zjsonpatch.JsonPatch.apply(patch, pod);
  }
}
