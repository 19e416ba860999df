package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.jmesh.runtime.identity.SpiffeId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The endpoints of each Service port, read from its EndpointSlices ({@code discovery.k8s.io/v1},
 * label {@code kubernetes.io/service-name}) and the Pods they point to.
 *
 * <p>Conditions follow KEP-1669: the ready endpoints of all slices of the service; only when none
 * is ready, those that are {@code serving} and {@code terminating} (a rollout's last pods keep
 * answering until they stop). A missing {@code ready} counts as ready, a missing {@code serving}
 * as {@code ready}, as the API says. Dual stack: a service's slices of its first IP family
 * ({@code spec.ipFamilies[0]}, IPv4 when unset); the other family's only when it has none, so one
 * pod is not two endpoints. The port is the slice port named like the service port, which is how
 * a named {@code targetPort} resolves per pod.
 *
 * <p>Cost: built on every translation of the whole cluster (10,000 pods in the scale benchmark),
 * so it keys its maps by the objects' own namespace and name strings, whose hash codes the
 * informers' unchanged objects have cached, rather than by a {@code namespace/name} string made
 * afresh for each of them; and identities come from an {@link Identities} cache kept across
 * translations rather than from a regex check per endpoint.
 *
 * <p>Immutable once built; not thread-safe to build.
 */
final class EndpointIndex {
  static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
  /** A pod with this annotation set to {@code enabled} runs the jmesh agent: it has an identity. */
  static final String INJECT_ANNOTATION = "jmesh.io/inject";

  /** One endpoint of a service port. {@code identity} is null for a pod without the agent. */
  record ResolvedEndpoint(String address, int port, Map<String, String> labels, SpiffeId identity) {}

  /**
   * The SPIFFE ids of service accounts, made once per trust domain, namespace and account: a
   * cluster has far fewer accounts than endpoints. Kept across translations by the source.
   *
   * <p>Not thread-safe: one translation at a time.
   */
  static final class Identities {
    private final Map<String, Map<String, Map<String, SpiffeId>>> ids = new HashMap<>();

    SpiffeId of(String trustDomain, String namespace, String serviceAccount) {
      return ids.computeIfAbsent(trustDomain, t -> new HashMap<>())
          .computeIfAbsent(namespace, n -> new HashMap<>())
          .computeIfAbsent(serviceAccount, a -> SpiffeId.of(trustDomain, namespace, a));
    }
  }

  private final String trustDomain;
  private final Identities identities;
  // namespace → service name → slices; namespace → pod name → pod.
  private final Map<String, Map<String, List<EndpointSlice>>> slicesByService = new HashMap<>();
  private final Map<String, Map<String, Pod>> podsByName = new HashMap<>();

  EndpointIndex(List<EndpointSlice> slices, List<Pod> pods, String trustDomain) {
    this(slices, pods, trustDomain, new Identities());
  }

  EndpointIndex(
      List<EndpointSlice> slices, List<Pod> pods, String trustDomain, Identities identities) {
    this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
    this.identities = Objects.requireNonNull(identities, "identities");
    for (EndpointSlice slice : slices) {
      Map<String, String> labels = slice.getMetadata().getLabels();
      String service = labels == null ? null : labels.get(SERVICE_NAME_LABEL);
      if (service != null) {
        slicesByService
            .computeIfAbsent(slice.getMetadata().getNamespace(), k -> new HashMap<>())
            .computeIfAbsent(service, k -> new ArrayList<>())
            .add(slice);
      }
    }
    for (Pod pod : pods) {
      podsByName
          .computeIfAbsent(pod.getMetadata().getNamespace(), k -> new HashMap<>())
          .put(pod.getMetadata().getName(), pod);
    }
  }

  static String key(String namespace, String name) {
    return namespace + "/" + name;
  }

  /** The endpoints of {@code port} of {@code service}, sorted by address; may be empty. */
  List<ResolvedEndpoint> endpoints(Service service, ServicePort port) {
    String namespace = service.getMetadata().getNamespace();
    List<EndpointSlice> all =
        slicesByService
            .getOrDefault(namespace, Map.of())
            .getOrDefault(service.getMetadata().getName(), List.of());
    List<String> families = service.getSpec().getIpFamilies();
    String family = families == null || families.isEmpty() ? "IPv4" : families.get(0);
    List<EndpointSlice> slices = all.stream().filter(s -> family.equals(s.getAddressType())).toList();
    if (slices.isEmpty()) {
      slices = all.stream().filter(s -> !"FQDN".equals(s.getAddressType())).toList();
    }
    String portName = port.getName() == null ? "" : port.getName();
    Map<String, ResolvedEndpoint> ready = new LinkedHashMap<>();
    Map<String, ResolvedEndpoint> terminating = new LinkedHashMap<>();
    for (EndpointSlice slice : slices) {
      Integer number = portNumber(slice, portName);
      if (number == null || slice.getEndpoints() == null) {
        continue;
      }
      for (Endpoint endpoint : slice.getEndpoints()) {
        if (endpoint.getAddresses() == null || endpoint.getAddresses().isEmpty()) {
          continue;
        }
        EndpointConditions c = endpoint.getConditions();
        boolean isReady = c == null || c.getReady() == null || c.getReady();
        boolean serving = c == null || c.getServing() == null ? isReady : c.getServing();
        boolean isTerminating = c != null && Boolean.TRUE.equals(c.getTerminating());
        // Every address of an endpoint is the same pod: the first is the one to call.
        String address = endpoint.getAddresses().get(0);
        if (isReady) {
          ready.putIfAbsent(address + ":" + number, resolve(address, number, endpoint, namespace));
        } else if (serving && isTerminating) {
          terminating.putIfAbsent(
              address + ":" + number, resolve(address, number, endpoint, namespace));
        }
      }
    }
    List<ResolvedEndpoint> out =
        new ArrayList<>(ready.isEmpty() ? terminating.values() : ready.values());
    out.sort(
        Comparator.comparing(ResolvedEndpoint::address).thenComparingInt(ResolvedEndpoint::port));
    return out;
  }

  private static Integer portNumber(EndpointSlice slice, String portName) {
    if (slice.getPorts() == null) {
      return null;
    }
    for (EndpointPort p : slice.getPorts()) {
      String name = p.getName() == null ? "" : p.getName();
      if (name.equals(portName) && p.getPort() != null) {
        return p.getPort();
      }
    }
    return null;
  }

  /**
   * Whether {@code a} and {@code b} give their endpoints the same labels and identity: all that
   * {@link #resolve} reads of a pod besides its namespace and name.
   */
  static boolean sameEndpointFacts(Pod a, Pod b) {
    return labels(a).equals(labels(b))
        && Objects.equals(inject(a), inject(b))
        && Objects.equals(account(a), account(b))
        && Objects.equals(a.getMetadata().getNamespace(), b.getMetadata().getNamespace());
  }

  private static Map<String, String> labels(Pod pod) {
    Map<String, String> labels = pod.getMetadata().getLabels();
    return labels == null ? Map.of() : labels;
  }

  private static String inject(Pod pod) {
    Map<String, String> annotations = pod.getMetadata().getAnnotations();
    return annotations == null ? null : annotations.get(INJECT_ANNOTATION);
  }

  private static String account(Pod pod) {
    return pod.getSpec() == null ? null : pod.getSpec().getServiceAccountName();
  }

  private ResolvedEndpoint resolve(String address, int port, Endpoint endpoint, String namespace) {
    ObjectReference ref = endpoint.getTargetRef();
    Pod pod = null;
    if (ref != null && "Pod".equals(ref.getKind()) && ref.getName() != null) {
      String ns = ref.getNamespace() == null ? namespace : ref.getNamespace();
      pod = podsByName.getOrDefault(ns, Map.of()).get(ref.getName());
    }
    if (pod == null) {
      return new ResolvedEndpoint(address, port, Map.of(), null);
    }
    SpiffeId identity = null;
    if ("enabled".equals(inject(pod))) {
      String account = account(pod);
      identity =
          identities.of(
              trustDomain,
              pod.getMetadata().getNamespace(),
              account == null || account.isEmpty() ? "default" : account);
    }
    return new ResolvedEndpoint(address, port, labels(pod), identity);
  }
}
