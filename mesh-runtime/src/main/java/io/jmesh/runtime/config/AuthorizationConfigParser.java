package io.jmesh.runtime.config;

import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads a service's {@code authorization} in the file-mode YAML: who may call its workloads, on
 * their inbound side ({@link AuthorizationPolicy}). Thread-safe: holds no state of its own.
 */
final class AuthorizationConfigParser {
  private final ConfigNodes n;

  AuthorizationConfigParser(ConfigNodes n) {
    this.n = n;
  }

  private static final Set<String> AUTHORIZATION_FIELDS = ConfigNodes.orderedSet("mode", "default", "rules");
  private static final Set<String> RULE_FIELDS =
      ConfigNodes.orderedSet(
          "name", "action", "identities", "namespaces", "serviceAccounts", "pathPrefix", "methods");

  AuthorizationPolicy authorization(Node node, String path, String qualifiedName)
      throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "an authorization mapping", AUTHORIZATION_FIELDS);
    AuthorizationPolicy.Mode mode = AuthorizationPolicy.Mode.ENFORCE;
    if (f.containsKey("mode")) {
      String value = n.scalar(f.get("mode"), path + ".mode", "enforce or audit");
      mode =
          switch (value) {
            case "enforce" -> AuthorizationPolicy.Mode.ENFORCE;
            case "audit" -> AuthorizationPolicy.Mode.AUDIT;
            default -> throw n.invalid(f.get("mode"), path + ".mode", "enforce or audit");
          };
    }
    AuthorizationPolicy.Default fallback = AuthorizationPolicy.Default.ALL_AUTHENTICATED;
    if (f.containsKey("default")) {
      String expected = "one of all-authenticated, all, deny";
      String value = n.scalar(f.get("default"), path + ".default", expected);
      fallback =
          switch (value) {
            case "all-authenticated" -> AuthorizationPolicy.Default.ALL_AUTHENTICATED;
            case "all" -> AuthorizationPolicy.Default.ALL;
            case "deny" -> AuthorizationPolicy.Default.DENY;
            default -> throw n.invalid(f.get("default"), path + ".default", expected);
          };
    }
    List<AuthorizationPolicy.Rule> rules = new ArrayList<>();
    if (f.containsKey("rules")) {
      List<Node> items = n.list(f.get("rules"), path + ".rules", "a list of rules");
      Map<String, Integer> names = new LinkedHashMap<>();
      for (int i = 0; i < items.size(); i++) {
        String rulePath = path + ".rules[" + i + "]";
        AuthorizationPolicy.Rule rule = rule(items.get(i), rulePath);
        Integer previous = names.putIfAbsent(rule.name(), i);
        if (previous != null) {
          Node nameNode = n.fields(items.get(i), rulePath, "", RULE_FIELDS).get("name");
          throw n.error(
              nameNode,
              rulePath + ".name",
              rule.name()
                  + " (expected: a rule name unique in the policy; already used by rules["
                  + previous
                  + "])");
        }
        rules.add(rule);
      }
    }
    return new AuthorizationPolicy(qualifiedName, mode, fallback, rules);
  }

  AuthorizationPolicy.Rule rule(Node node, String path) throws MeshConfigException {
    Map<String, Node> f = n.fields(node, path, "a rule mapping", RULE_FIELDS);
    // Required: a denial names the rule that decided it, so an invented name would mislead.
    String name =
        n.matching(
            n.required(node, f, path, "name", "a rule name"),
            path + ".name",
            MeshSyntax.TOKEN,
            "a rule name: letters, digits and - . _ (no spaces or '/')");
    String actionExpected = "allow or deny";
    String action =
        n.scalar(n.required(node, f, path, "action", actionExpected), path + ".action", actionExpected);
    if (!action.equals("allow") && !action.equals("deny")) {
      throw n.invalid(f.get("action"), path + ".action", actionExpected);
    }
    List<SpiffeId> identities = new ArrayList<>();
    if (f.containsKey("identities")) {
      for (Map.Entry<String, Node> e :
          n.nonEmptyList(f.get("identities"), path + ".identities", "a non-empty list of SPIFFE ids").entrySet()) {
        String value = n.scalar(e.getValue(), e.getKey(), "a SPIFFE id, " + MeshSyntax.SPIFFE_FORM);
        try {
          identities.add(SpiffeId.parse(value));
        } catch (IllegalArgumentException ex) {
          throw n.error(e.getValue(), e.getKey(), ex.getMessage());
        }
      }
    }
    List<String> namespaces = new ArrayList<>();
    if (f.containsKey("namespaces")) {
      String expected = "a namespace: a DNS label (lower-case letters, digits and '-')";
      for (Map.Entry<String, Node> e :
          n.nonEmptyList(f.get("namespaces"), path + ".namespaces", "a non-empty list of namespaces").entrySet()) {
        namespaces.add(n.matching(e.getValue(), e.getKey(), MeshSyntax.DNS_LABEL, expected));
      }
    }
    List<String> serviceAccounts = new ArrayList<>();
    if (f.containsKey("serviceAccounts")) {
      String expected =
          "a service account name: a DNS subdomain (lower-case letters, digits, '-' and '.')";
      for (Map.Entry<String, Node> e :
          n.nonEmptyList(f.get("serviceAccounts"), path + ".serviceAccounts", "a non-empty list of service account names").entrySet()) {
        serviceAccounts.add(n.matching(e.getValue(), e.getKey(), MeshSyntax.DNS_SUBDOMAIN, expected));
      }
    }
    if (identities.isEmpty() && namespaces.isEmpty() && serviceAccounts.isEmpty()) {
      // A rule that names no caller would never match: surely not what was meant.
      throw n.error(
          node,
          path,
          "names no caller (expected: at least one of identities, namespaces, serviceAccounts)");
    }
    String pathPrefix = null;
    if (f.containsKey("pathPrefix")) {
      pathPrefix = n.absolutePath(f.get("pathPrefix"), path + ".pathPrefix");
    }
    List<String> methods = new ArrayList<>();
    if (f.containsKey("methods")) {
      String expected = "an upper-case HTTP method such as GET, or TCP for opaque connections";
      for (Map.Entry<String, Node> e :
          n.nonEmptyList(f.get("methods"), path + ".methods", "a non-empty list of methods").entrySet()) {
        String method = n.matching(e.getValue(), e.getKey(), MeshSyntax.METHOD, expected);
        if (method.equals("TCP") && pathPrefix != null) {
          throw n.error(
              e.getValue(),
              e.getKey(),
              "TCP (expected: no TCP together with pathPrefix: an opaque connection has no path,"
                  + " so the rule could never match it)");
        }
        methods.add(method);
      }
    }
    return new AuthorizationPolicy.Rule(
        name, action.equals("allow"), identities, namespaces, serviceAccounts, pathPrefix, methods);
  }
}
