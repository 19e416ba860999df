package io.jmesh.runtime.config;

import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.inbound.AuthorizationPolicy;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Parses the file-mode YAML (schema in {@code mesh-runtime/README.md}) into a {@link
 * MeshSnapshot}, or fails with a {@link MeshConfigException} that names the source, the line, the
 * field path, the bad value and what was expected. Unknown fields are errors, never ignored.
 *
 * <p>Works on SnakeYAML's node tree (not on maps) so that every value keeps its position in the
 * file ({@link ConfigNodes}). Reads the services and their endpoints itself; each other section
 * has its parser: {@link RouteConfigParser} (routes and their policy), {@link PolicyConfigParser}
 * (a destination's policy), {@link AuthorizationConfigParser} (who may call a service). Stops at
 * the first error. Thread-safe: holds no state.
 */
public final class MeshConfigParser {

  private static final Pattern SERVICE_NAME = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");

  private MeshConfigParser() {}

  /** Reads and parses {@code file}; the snapshot version is a hash of its content. */
  public static MeshSnapshot parse(Path file, String defaultNamespace)
      throws IOException, MeshConfigException {
    return parse(file.toString(), Files.readString(file, StandardCharsets.UTF_8), defaultNamespace);
  }

  /**
   * Parses {@code yaml}; {@code source} names it in error messages. Services without a namespace
   * get {@code defaultNamespace}. The snapshot version is a hash of {@code yaml}.
   */
  public static MeshSnapshot parse(String source, String yaml, String defaultNamespace)
      throws MeshConfigException {
    return parse(source, yaml, defaultNamespace, RouteFilters.MIRROR_APPLIED);
  }

  /**
   * {@link #parse(String, String, String)}, with {@code mirrorApplied} standing for {@link
   * RouteFilters#MIRROR_APPLIED}: for tests of the mirror's syntax before every client applies it.
   */
  static MeshSnapshot parse(String source, String yaml, String defaultNamespace, boolean mirrorApplied)
      throws MeshConfigException {
    Node root;
    try {
      root = new Yaml(new LoaderOptions()).compose(new StringReader(yaml));
    } catch (MarkedYAMLException e) {
      Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
      int line = mark == null ? 1 : mark.getLine() + 1;
      String problem = e.getProblem() != null ? e.getProblem() : e.getMessage();
      String context = e.getContext() == null ? "" : " (" + e.getContext() + ")";
      throw new MeshConfigException(source, line, "invalid YAML: " + problem + context);
    } catch (YAMLException e) {
      throw new MeshConfigException(source, 1, "invalid YAML: " + e.getMessage());
    }
    return new Reader(source, defaultNamespace, mirrorApplied).snapshot(root, version(yaml));
  }

  /** A short content hash: equal files give equal versions. */
  static String version(String content) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(content.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is required of every JVM", e);
    }
  }

  /** Walks the node tree of one document; keeps the source name for errors. */
  private static final class Reader {
    private final String source;
    private final String defaultNamespace;
    private final ConfigNodes n;
    private final RouteConfigParser routes;
    private final PolicyConfigParser policies;
    private final AuthorizationConfigParser authorizations;

    Reader(String source, String defaultNamespace, boolean mirrorApplied) {
      this.source = source;
      this.defaultNamespace = defaultNamespace;
      this.n = new ConfigNodes(source);
      this.routes = new RouteConfigParser(n, mirrorApplied);
      this.policies = new PolicyConfigParser(n);
      this.authorizations = new AuthorizationConfigParser(n);
    }

    MeshSnapshot snapshot(Node root, String version) throws MeshConfigException {
      if (root == null) {
        // An empty file is more likely a truncated write than an intent to remove every service;
        // `services: []` says that explicitly.
        throw new MeshConfigException(
            source, 1, "empty document (expected: a mapping with the field 'services')");
      }
      Map<String, Node> fields =
          n.fields(root, "(root)", "a mapping with the field 'services'", Set.of("services"));
      Node servicesNode = n.required(root, fields, "(root)", "services", "a list of services");
      List<Node> items = n.list(servicesNode, "services", "a list of services");
      List<Service> services = new ArrayList<>();
      Map<String, Node> seen = new LinkedHashMap<>();
      for (int i = 0; i < items.size(); i++) {
        String path = "services[" + i + "]";
        Service service = service(items.get(i), path);
        Node previous = seen.putIfAbsent(service.qualifiedName(), items.get(i));
        if (previous != null) {
          Node nameNode = n.fields(items.get(i), path, "", SERVICE_FIELDS).get("name");
          throw n.error(
              nameNode,
              path + ".name",
              service.name()
                  + " (expected: a service name not yet declared in namespace "
                  + service.namespace()
                  + "; first declared at line "
                  + ConfigNodes.line(previous)
                  + ")");
        }
        services.add(service);
      }
      checkMirrors(items, services, seen.keySet());
      return new MeshSnapshot(version, services);
    }

    /** Every route's mirror names a service of this file: a copy to nowhere is a typo. */
    private void checkMirrors(List<Node> items, List<Service> services, Set<String> declared)
        throws MeshConfigException {
      for (int i = 0; i < services.size(); i++) {
        List<Route> serviceRoutes = services.get(i).routes();
        for (int r = 0; r < serviceRoutes.size(); r++) {
          RequestMirror mirror = serviceRoutes.get(r).filters().mirror();
          if (mirror == null || declared.contains(mirror.qualifiedName())) {
            continue;
          }
          String path = "services[" + i + "].routes[" + r + "].mirror";
          Node routesNode = n.fields(items.get(i), "services[" + i + "]", "", SERVICE_FIELDS).get("routes");
          Node routeNode = n.list(routesNode, "", "").get(r);
          Node mirrorNode = n.fields(routeNode, "", "", RouteConfigParser.ROUTE_FIELDS).get("mirror");
          throw n.error(
              mirrorNode,
              path + ".service",
              mirror.service() + " in namespace " + mirror.namespace()
                  + " (expected: a service declared in this file)");
        }
      }
    }

    private static final Set<String> SERVICE_FIELDS =
        ConfigNodes.orderedSet(
            "name", "namespace", "ports", "endpoints", "routes", "policy", "identities", "authorization");

    Service service(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = n.fields(node, path, "a service mapping", SERVICE_FIELDS);
      String name =
          n.matching(
              n.required(node, f, path, "name", "a service name"),
              path + ".name",
              SERVICE_NAME,
              "a DNS label: lower-case letters, digits and '-', starting with a letter, at most 63"
                  + " characters");
      String namespace = defaultNamespace;
      if (f.containsKey("namespace")) {
        namespace =
            n.matching(
                f.get("namespace"),
                path + ".namespace",
                MeshSyntax.DNS_LABEL,
                "a DNS label: lower-case letters, digits and '-', at most 63 characters");
      }
      String portsExpected = "a non-empty list of ports, each an integer in 1..65535";
      Node portsNode = n.required(node, f, path, "ports", portsExpected);
      List<Node> portNodes = n.list(portsNode, path + ".ports", portsExpected);
      if (portNodes.isEmpty()) {
        throw n.error(portsNode, path + ".ports", "[] (expected: " + portsExpected + ")");
      }
      List<Integer> ports = new ArrayList<>();
      for (int i = 0; i < portNodes.size(); i++) {
        ports.add(n.port(portNodes.get(i), path + ".ports[" + i + "]"));
      }
      List<ServiceEndpoint> endpoints = new ArrayList<>();
      if (f.containsKey("endpoints")) {
        List<Node> items = n.list(f.get("endpoints"), path + ".endpoints", "a list of endpoints");
        for (int i = 0; i < items.size(); i++) {
          endpoints.add(endpoint(items.get(i), path + ".endpoints[" + i + "]"));
        }
      }
      List<Route> serviceRoutes = new ArrayList<>();
      if (f.containsKey("routes")) {
        List<Node> items = n.list(f.get("routes"), path + ".routes", "a list of routes");
        Map<String, Integer> names = new LinkedHashMap<>();
        for (int i = 0; i < items.size(); i++) {
          String routePath = path + ".routes[" + i + "]";
          Route route = routes.route(items.get(i), routePath, i, namespace);
          Integer previous = names.putIfAbsent(route.name(), i);
          if (previous != null) {
            Node nameNode = n.fields(items.get(i), routePath, "", RouteConfigParser.ROUTE_FIELDS).get("name");
            throw n.error(
                nameNode,
                routePath + ".name",
                route.name()
                    + " (expected: a route name unique in the service; already used by routes["
                    + previous
                    + "])");
          }
          serviceRoutes.add(route);
        }
      }
      DestinationPolicy policy = DestinationPolicy.DEFAULT;
      if (f.containsKey("policy")) {
        policy = policies.destinationPolicy(f.get("policy"), path + ".policy");
      }
      List<SpiffeId> identities = new ArrayList<>();
      if (f.containsKey("identities")) {
        String expected =
            "a non-empty list of SPIFFE ids, " + MeshSyntax.SPIFFE_FORM;
        List<Node> items = n.list(f.get("identities"), path + ".identities", expected);
        if (items.isEmpty()) {
          throw n.error(f.get("identities"), path + ".identities", "[] (expected: " + expected + ")");
        }
        for (int i = 0; i < items.size(); i++) {
          String itemPath = path + ".identities[" + i + "]";
          String value = n.scalar(items.get(i), itemPath, expected);
          try {
            identities.add(SpiffeId.parse(value));
          } catch (IllegalArgumentException e) {
            throw n.error(items.get(i), itemPath, e.getMessage());
          }
        }
      }
      String qualified = name + "." + namespace;
      AuthorizationPolicy authorization = AuthorizationPolicy.allAuthenticated(qualified);
      if (f.containsKey("authorization")) {
        authorization = authorizations.authorization(f.get("authorization"), path + ".authorization", qualified);
      }
      return new Service(name, namespace, ports, endpoints, serviceRoutes, policy, identities, authorization);
    }

    private static final Set<String> ENDPOINT_FIELDS =
        ConfigNodes.orderedSet("address", "port", "weight", "labels", "priority");

    ServiceEndpoint endpoint(Node node, String path) throws MeshConfigException {
      Map<String, Node> f = n.fields(node, path, "an endpoint mapping", ENDPOINT_FIELDS);
      Node addressNode = n.required(node, f, path, "address", "a host name or IP address");
      String address = n.scalar(addressNode, path + ".address", "a host name or IP address");
      if (address.isBlank() || address.chars().anyMatch(c -> c <= ' ' || c == '/')) {
        throw n.invalid(addressNode, path + ".address", "a host name or IP address");
      }
      int port = n.port(n.required(node, f, path, "port", "an integer in 1..65535"), path + ".port");
      int weight = 1;
      if (f.containsKey("weight")) {
        weight = n.integer(f.get("weight"), path + ".weight", 1, Integer.MAX_VALUE, "an integer >= 1");
      }
      Map<String, String> labels = Map.of();
      if (f.containsKey("labels")) {
        labels = n.stringMap(f.get("labels"), path + ".labels", "a mapping of label names to values");
      }
      int priority =
          f.containsKey("priority")
              ? n.integer(f.get("priority"), path + ".priority", 0, 1000, "an integer in 0..1000 (0: the highest)")
              : 0;
      return new ServiceEndpoint(address, port, weight, labels, priority);
    }
  }
}
