package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.ObjectFieldSelector;
import io.fabric8.kubernetes.api.model.Probe;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The agent's settings for one container, as {@code JMESH_*} variables (agent/README.md's table).
 * A variable the container already defines is left as the user wrote it.
 *
 * <p>What the pod's API object knows at admission is written as a value (the service name, the
 * ports, the probe paths); what only the kubelet knows comes from the downward API (namespace,
 * service account, pod IPs), so that it is right even for a pod created with {@code
 * generateName}.
 */
final class AgentEnvironment {
  static final String TOKEN_DIR = "/var/run/secrets/jmesh";
  static final String ANCHORS_DIR = "/var/run/jmesh/anchors";
  static final String AGENT_DIR = "/var/run/jmesh/agent";
  static final int FIRST_ADMIN_PORT = 4191;

  private AgentEnvironment() {}

  /**
   * The variables to add, in order. {@code adminPort} is 0 to keep the agent's default; {@code
   * warnings} receives what was left out and why.
   */
  static List<EnvVar> variables(
      InjectorSettings settings,
      Container c,
      Map<String, String> podLabels,
      Map<String, String> podAnnotations,
      int adminPort,
      List<String> warnings) {
    List<EnvVar> vars = new ArrayList<>();
    vars.add(value("JMESH_CONTROLLER", settings.controller()));
    vars.add(value("JMESH_TRUST_DOMAIN", settings.trustDomain()));
    vars.add(value("JMESH_TRUST_ANCHORS_FILE", ANCHORS_DIR + "/trust-anchors.pem"));
    vars.add(value("JMESH_BOOTSTRAP_TOKEN_FILE", TOKEN_DIR + "/token"));
    vars.add(field("JMESH_NAMESPACE", "metadata.namespace"));
    vars.add(field("JMESH_SERVICE_ACCOUNT", "spec.serviceAccountName"));
    String service = serviceName(podLabels, podAnnotations);
    if (service != null) {
      vars.add(value("JMESH_SERVICE", service));
    }
    // The pod's addresses, both families on a dual-stack pod: where the mesh listener takes a
    // captured port.
    vars.add(field("JMESH_INBOUND_WORKLOAD_ADDRESSES", "status.podIPs"));
    String ports = capturePorts(c);
    if (ports != null) {
      vars.add(value("JMESH_INBOUND_CAPTURE_PORTS", ports));
    }
    String probePaths = probePaths(c, warnings);
    if (probePaths != null) {
      vars.add(value("JMESH_INBOUND_PROBE_PATHS", probePaths));
    }
    if (adminPort != 0) {
      vars.add(value("JMESH_ADMIN_PORT", Integer.toString(adminPort)));
    }
    return vars;
  }

  /** {@code jmesh.io/service}, else label {@code app.kubernetes.io/name}, else {@code app}. */
  static String serviceName(Map<String, String> labels, Map<String, String> annotations) {
    if (annotations != null && notBlank(annotations.get(Annotations.SERVICE))) {
      return annotations.get(Annotations.SERVICE);
    }
    if (labels != null && notBlank(labels.get(Annotations.APP_NAME_LABEL))) {
      return labels.get(Annotations.APP_NAME_LABEL);
    }
    if (labels != null && notBlank(labels.get(Annotations.APP_LABEL))) {
      return labels.get(Annotations.APP_LABEL);
    }
    return null;
  }

  /** The container's declared TCP ports, ascending, or null when it declares none. */
  static String capturePorts(Container c) {
    if (c.getPorts() == null) {
      return null;
    }
    Set<Integer> ports = new TreeSet<>();
    for (ContainerPort p : c.getPorts()) {
      if (p.getContainerPort() != null
          && (p.getProtocol() == null || "TCP".equals(p.getProtocol()))) {
        ports.add(p.getContainerPort());
      }
    }
    return ports.isEmpty()
        ? null
        : ports.stream().map(String::valueOf).collect(Collectors.joining(","));
  }

  /**
   * The paths of the container's plain-HTTP {@code httpGet} probes (startup, liveness,
   * readiness), without the query, in that order, each once; null when there are none. A path the
   * agent would refuse (and with it the whole list) is left out with a warning, as is an HTTPS
   * probe, which the mesh listener cannot let through.
   */
  static String probePaths(Container c, List<String> warnings) {
    Set<String> paths = new LinkedHashSet<>();
    probePath(c, "startupProbe", c.getStartupProbe(), paths, warnings);
    probePath(c, "livenessProbe", c.getLivenessProbe(), paths, warnings);
    probePath(c, "readinessProbe", c.getReadinessProbe(), paths, warnings);
    return paths.isEmpty() ? null : String.join(",", paths);
  }

  private static void probePath(
      Container c, String which, Probe probe, Set<String> paths, List<String> warnings) {
    if (probe == null || probe.getHttpGet() == null) {
      return;
    }
    String scheme = probe.getHttpGet().getScheme();
    if (scheme != null && !"HTTP".equals(scheme)) {
      warnings.add(
          "container "
              + c.getName()
              + ": "
              + which
              + " uses scheme "
              + scheme
              + ", which the mesh listener refuses in strict mode (expected: HTTP; the path is"
              + " not exempted)");
      return;
    }
    String path = probe.getHttpGet().getPath();
    if (path == null || path.isEmpty()) {
      path = "/";
    }
    int query = path.indexOf('?');
    if (query >= 0) {
      path = path.substring(0, query);
    }
    if (!path.startsWith("/")
        || path.contains("..")
        || path.contains("#")
        || path.chars().anyMatch(Character::isWhitespace)
        || path.contains(",")) {
      warnings.add(
          "container "
              + c.getName()
              + ": "
              + which
              + " path \""
              + path
              + "\" is not exempted from mesh TLS (expected: starts with /, without spaces, #, ..,"
              + " or commas)");
      return;
    }
    paths.add(path);
  }

  private static boolean notBlank(String s) {
    return s != null && !s.isBlank();
  }

  private static EnvVar value(String name, String value) {
    return new EnvVar(name, value, null);
  }

  private static EnvVar field(String name, String path) {
    EnvVarSource source = new EnvVarSource();
    source.setFieldRef(new ObjectFieldSelector("v1", path));
    return new EnvVar(name, null, source);
  }
}
