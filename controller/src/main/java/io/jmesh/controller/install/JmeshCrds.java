package io.jmesh.controller.install;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaPropsBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaPropsOrArray;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRule;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRuleBuilder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.StringNode;

/**
 * The jmesh CRDs under {@code jmesh.io}: what Gateway API has no field for, attached to a Service
 * by {@code targetRefs} (Gateway API policy attachment, GEP-713). Their fields are those of a
 * service's {@code policy:} and {@code authorization:} in mesh.yaml (mesh-runtime/README.md), with
 * the same names, ranges and defaults, so one model serves both sources. The Kubernetes source
 * reads them ({@code PolicyTranslator}) and writes each one's {@code status.conditions} through
 * the status subresource.
 *
 * <p>Every schema is structural (each property typed), as apiextensions.k8s.io/v1 requires.
 */
public final class JmeshCrds {
  public static final String GROUP = "jmesh.io";
  public static final String VERSION = "v1alpha1";

  /** A jmesh policy kind. */
  public record Kind(String kind, String plural, String description, JSONSchemaProps spec) {
    /** The CRD's name, {@code <plural>.jmesh.io}. */
    public String crdName() {
      return plural + "." + GROUP;
    }
  }

  // Gateway API's own Duration pattern (a subset of what mesh.yaml's Durations accepts).
  private static final String DURATION = "^([0-9]{1,5}(h|m|s|ms)){1,4}$";
  private static final String DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
  private static final String DNS_SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

  /** The policy kinds, in the order {@code jmesh install} prints them. */
  public static final List<Kind> KINDS = List.of(
      new Kind("RetryBudgetPolicy", "retrybudgetpolicies",
          "How many retries the callers of a Service may add to its traffic (mesh.yaml policy.retryBudget).",
          spec(props(
              "ratio", number(0, 1000, "Retries allowed per original request, over ttl. Default 0.2."),
              "minPerSecond", integer(0, 1_000_000, "Retries per second allowed whatever the ratio. Default 10."),
              "ttl", duration("How long a request counts towards the budget, 1s..60s. Default 10s.")))),
      new Kind("FailureAccrualPolicy", "failureaccrualpolicies",
          "When callers eject an endpoint of a Service, and for how long (mesh.yaml policy.failureAccrual"
              + " and maxEjectionPercent).",
          spec(props(
              "consecutiveFailures", integer(1, 1000, "Failures in a row that eject an endpoint. Default 7."),
              "minPenalty", duration("The first ejection's length. Default 1s."),
              "maxPenalty", duration("The longest ejection, at least minPenalty. Default 60s."),
              "jitter", number(0, 1, "Random share of a penalty, 0..1. Default 0.5."),
              "maxEjectionPercent", integer(0, 100, "Never eject more than this share of the endpoints. Default 50.")))),
      new Kind("RateLimitPolicy", "ratelimitpolicies",
          "A local rate limit each caller applies to its requests to a Service (mesh.yaml policy.rateLimit).",
          spec(props(
              "requestsPerSecond", integer(1, Integer.MAX_VALUE, "Requests per second each caller may send."),
              "burst", integer(1, Integer.MAX_VALUE, "Requests allowed at once. Default requestsPerSecond.")),
              "requestsPerSecond")),
      new Kind("AuthorizationPolicy", "authorizationpolicies",
          "Who may call the workloads of a Service, enforced by their inbound terminator (mesh.yaml"
              + " authorization).",
          spec(props(
              "mode", enumOf("enforce: a denial refuses the request (default); audit: it is logged and counted.",
                  "enforce", "audit"),
              "default", enumOf("When no rule matches: any caller with a mesh identity (default), every caller,"
                  + " or nobody.", "all-authenticated", "all", "deny"),
              "rules", array("In order; the first that matches decides.", 256, rule())))));

  private JmeshCrds() {}

  static List<HasMetadata> objects() {
    return KINDS.stream().map(JmeshCrds::crd).toList();
  }

  private static HasMetadata crd(Kind k) {
    JSONSchemaProps root = new JSONSchemaPropsBuilder()
        .withType("object")
        .withDescription(k.description())
        .withProperties(props(
            "apiVersion", string("APIVersion of this object."),
            "kind", string("Kind of this object."),
            "metadata", new JSONSchemaPropsBuilder().withType("object").build(),
            "spec", k.spec(),
            "status", status()))
        .withRequired("spec")
        .build();
    return new CustomResourceDefinitionBuilder()
        .withNewMetadata()
            .withName(k.crdName())
            .withLabels(Manifests.labels())
            // GEP-713: a policy that attaches directly to its target.
            .addToLabels("gateway.networking.k8s.io/policy", "Direct")
        .endMetadata()
        .withNewSpec()
            .withGroup(GROUP)
            .withScope("Namespaced")
            .withNewNames()
                .withKind(k.kind())
                .withListKind(k.kind() + "List")
                .withPlural(k.plural())
                .withSingular(k.kind().toLowerCase(java.util.Locale.ROOT))
                .withCategories("jmesh", "jmesh-policy")
            .endNames()
            .addNewVersion()
                .withName(VERSION)
                .withServed(true)
                .withStorage(true)
                .withNewSchema().withOpenAPIV3Schema(root).endSchema()
                // The controller writes status.conditions here only, never into the spec.
                .withNewSubresources().withNewStatus().endStatus().endSubresources()
            .endVersion()
        .endSpec()
        .build();
  }

  /** {@code spec}: the policy's own fields and the Services it attaches to. */
  private static JSONSchemaProps spec(Map<String, JSONSchemaProps> fields, String... required) {
    Map<String, JSONSchemaProps> all = new LinkedHashMap<>();
    all.put("targetRefs", targetRefs());
    all.putAll(fields);
    String[] req = new String[required.length + 1];
    req[0] = "targetRefs";
    System.arraycopy(required, 0, req, 1, required.length);
    return object("The policy.", all, req);
  }

  /**
   * {@code status}: metav1.Condition entries, one per type ({@code Accepted}), as the controller
   * writes them.
   */
  private static JSONSchemaProps status() {
    JSONSchemaProps condition = object("A condition of this policy (metav1.Condition).",
        props(
            "type", pattern(string("Accepted."), "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$", 316),
            "status", enumOf("True, False or Unknown.", "True", "False", "Unknown"),
            "observedGeneration", new JSONSchemaPropsBuilder().withType("integer").withFormat("int64")
                .withMinimum(0d).withDescription("The metadata.generation the condition was set for.").build(),
            "lastTransitionTime", new JSONSchemaPropsBuilder(string("When the status last changed."))
                .withFormat("date-time").build(),
            "reason", pattern(string("Accepted, Conflicted, TargetNotFound or Invalid."),
                "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", 1024),
            "message", new JSONSchemaPropsBuilder(string("Why, naming the field, the value and what was expected."))
                .withMaxLength(32768L).build()),
        "type", "status", "lastTransitionTime", "reason", "message");
    JSONSchemaProps conditions = new JSONSchemaPropsBuilder(array("Written by the jmesh controller.", 8, condition))
        .withXKubernetesListType("map")
        .withXKubernetesListMapKeys("type")
        .build();
    return object("What the jmesh controller made of this policy.", props("conditions", conditions));
  }

  /** Gateway API's LocalPolicyTargetReference; jmesh policies attach to core Services only. */
  private static JSONSchemaProps targetRefs() {
    JSONSchemaProps ref = new JSONSchemaPropsBuilder(object(
        "A Service in this policy's namespace.",
        props(
            "group", pattern(string("The target's API group: \"\" (core)."), DNS_SUBDOMAIN + "|^$", 253),
            "kind", pattern(string("The target's kind: Service."), "^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$", 63),
            "name", new JSONSchemaPropsBuilder(string("The target's name.")).withMinLength(1L).withMaxLength(253L).build()),
        "group", "kind", "name"))
        .withXKubernetesValidations(cel("self.group == '' && self.kind == 'Service'", "jmesh policies attach to Services (group \"\", kind Service)"))
        .build();
    return new JSONSchemaPropsBuilder(array("The Services this policy applies to (policy attachment).", 16, ref))
        .withMinItems(1L)
        .build();
  }

  private static JSONSchemaProps rule() {
    JSONSchemaProps names = array("", 64, string(""));
    return new JSONSchemaPropsBuilder(object("An authorization rule.",
        props(
            "name", pattern(string("Unique in the policy; a denial names it."), "^[A-Za-z0-9._-]+$", 63),
            "action", enumOf("allow or deny.", "allow", "deny"),
            "identities", array("Callers by SPIFFE id.", 64, pattern(string("A SPIFFE id."), "^spiffe://.+$", 2048)),
            "namespaces", array("Callers by namespace.", 64, pattern(string("A namespace."), DNS_LABEL, 63)),
            "serviceAccounts", array("Callers by service account.", 64,
                pattern(string("A service account name."), DNS_SUBDOMAIN, 253)),
            "pathPrefix", pattern(string("Narrows the rule to requests under this path."), "^/.*$", 1024),
            "methods", array("Upper-case HTTP methods, or TCP for an opaque connection.", 16,
                pattern(string("A method."), "^[A-Z]+$", 32))),
        "name", "action"))
        .withXKubernetesValidations(
            cel("has(self.identities) || has(self.namespaces) || has(self.serviceAccounts)", "a rule names its callers: identities, namespaces or serviceAccounts"),
            cel("!(has(self.pathPrefix) && has(self.methods) && 'TCP' in self.methods)", "methods TCP and pathPrefix exclude each other (a connection has no path)"))
        .build();
  }

  /** A CEL rule the API server checks (x-kubernetes-validations), with the message it answers. */
  private static ValidationRule cel(String rule, String message) {
    return new ValidationRuleBuilder().withRule(rule).withMessage(message).build();
  }

  private static Map<String, JSONSchemaProps> props(Object... nameThenSchema) {
    Map<String, JSONSchemaProps> m = new LinkedHashMap<>();
    for (int i = 0; i < nameThenSchema.length; i += 2) {
      m.put((String) nameThenSchema[i], (JSONSchemaProps) nameThenSchema[i + 1]);
    }
    return m;
  }

  private static JSONSchemaProps object(String description, Map<String, JSONSchemaProps> props, String... required) {
    return new JSONSchemaPropsBuilder()
        .withType("object")
        .withDescription(description)
        .withProperties(props)
        .withRequired(required)
        .build();
  }

  private static JSONSchemaProps string(String description) {
    JSONSchemaPropsBuilder b = new JSONSchemaPropsBuilder().withType("string");
    return (description.isEmpty() ? b : b.withDescription(description)).build();
  }

  private static JSONSchemaProps pattern(JSONSchemaProps s, String pattern, long maxLength) {
    return new JSONSchemaPropsBuilder(s).withPattern(pattern).withMaxLength(maxLength).build();
  }

  private static JSONSchemaProps duration(String description) {
    return pattern(string(description), DURATION, 32);
  }

  private static JSONSchemaProps integer(long min, long max, String description) {
    return new JSONSchemaPropsBuilder().withType("integer").withFormat(max > Integer.MAX_VALUE ? "int64" : "int32")
        .withMinimum((double) min).withMaximum((double) max).withDescription(description).build();
  }

  private static JSONSchemaProps number(double min, double max, String description) {
    return new JSONSchemaPropsBuilder().withType("number")
        .withMinimum(min).withMaximum(max).withDescription(description).build();
  }

  private static JSONSchemaProps enumOf(String description, String... values) {
    List<JsonNode> nodes = Arrays.stream(values).<JsonNode>map(StringNode::valueOf).toList();
    return new JSONSchemaPropsBuilder().withType("string").withDescription(description).withEnum(nodes).build();
  }

  private static JSONSchemaProps array(String description, long maxItems, JSONSchemaProps items) {
    JSONSchemaPropsBuilder b = new JSONSchemaPropsBuilder()
        .withType("array")
        .withMaxItems(maxItems)
        .withItems(new JSONSchemaPropsOrArray(new java.util.ArrayList<>(), items));
    return (description.isEmpty() ? b : b.withDescription(description)).build();
  }
}
