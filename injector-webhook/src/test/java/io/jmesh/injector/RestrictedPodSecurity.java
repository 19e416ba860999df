package io.jmesh.injector;

import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SeccompProfile;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Sysctl;
import io.fabric8.kubernetes.api.model.Volume;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import tools.jackson.databind.json.JsonMapper;

/**
 * A check of the Kubernetes Pod Security Standards' "restricted" profile (which includes
 * "baseline"), written from kubernetes.io/docs/concepts/security/pod-security-standards for Linux
 * pods. Each rule gives one line naming the field, the value and what is allowed.
 *
 * <p>{@link #check(Pod)} applies every rule to the whole pod. {@link #checkAdditions(Pod, Pod)}
 * judges only what the injector is responsible for: containers and volumes it added get the full
 * rules, and everything the input already had must be unchanged in the fields the rules read
 * (the pod-level security context and host namespaces, each existing container's security context
 * and ports). Not covered: Windows pods, AppArmor annotations (the field is checked), user
 * namespaces' relaxations ({@code hostUsers: false}).
 */
final class RestrictedPodSecurity {
  static final Set<String> ALLOWED_VOLUMES =
      Set.of(
          "configMap",
          "csi",
          "downwardAPI",
          "emptyDir",
          "ephemeral",
          "persistentVolumeClaim",
          "projected",
          "secret");
  static final Set<String> SAFE_SYSCTLS =
      Set.of(
          "kernel.shm_rmid_forced",
          "net.ipv4.ip_local_port_range",
          "net.ipv4.ip_unprivileged_port_start",
          "net.ipv4.tcp_syncookies",
          "net.ipv4.ping_group_range",
          "net.ipv4.ip_local_reserved_ports",
          "net.ipv4.tcp_keepalive_time",
          "net.ipv4.tcp_fin_timeout",
          "net.ipv4.tcp_keepalive_intvl",
          "net.ipv4.tcp_keepalive_probes");
  static final Set<String> SELINUX_TYPES =
      Set.of("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t");

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private RestrictedPodSecurity() {}

  /** Every restricted rule over the whole pod. */
  static List<String> check(Pod pod) {
    List<String> v = new ArrayList<>();
    PodSpec spec = pod.getSpec();
    PodSecurityContext psc = spec.getSecurityContext();
    podLevel(spec, v);
    for (Container c : allContainers(spec)) {
      container(c, psc, v);
    }
    for (Volume vol : list(spec.getVolumes())) {
      volume(vol, v);
    }
    return v;
  }

  /** The rules over what {@code after} adds to {@code before}, and "unchanged" for the rest. */
  static List<String> checkAdditions(Pod before, Pod after) {
    List<String> v = new ArrayList<>();
    PodSpec b = before.getSpec();
    PodSpec a = after.getSpec();
    same("spec.securityContext", b.getSecurityContext(), a.getSecurityContext(), v);
    same("spec.hostNetwork", b.getHostNetwork(), a.getHostNetwork(), v);
    same("spec.hostPID", b.getHostPID(), a.getHostPID(), v);
    same("spec.hostIPC", b.getHostIPC(), a.getHostIPC(), v);
    same("spec.hostUsers", b.getHostUsers(), a.getHostUsers(), v);
    Map<String, Container> old =
        allContainers(b).stream().collect(Collectors.toMap(Container::getName, c -> c));
    for (Container c : allContainers(a)) {
      Container was = old.get(c.getName());
      if (was == null) {
        container(c, a.getSecurityContext(), v);
      } else {
        same(c.getName() + ".securityContext", was.getSecurityContext(), c.getSecurityContext(), v);
        same(c.getName() + ".ports", was.getPorts(), c.getPorts(), v);
      }
    }
    Set<String> oldVolumes =
        list(b.getVolumes()).stream().map(Volume::getName).collect(Collectors.toSet());
    for (Volume vol : list(a.getVolumes())) {
      if (!oldVolumes.contains(vol.getName())) {
        volume(vol, v);
      }
    }
    return v;
  }

  private static void podLevel(PodSpec spec, List<String> v) {
    if (Boolean.TRUE.equals(spec.getHostNetwork())) {
      v.add("spec.hostNetwork: true (expected: false or unset)");
    }
    if (Boolean.TRUE.equals(spec.getHostPID())) {
      v.add("spec.hostPID: true (expected: false or unset)");
    }
    if (Boolean.TRUE.equals(spec.getHostIPC())) {
      v.add("spec.hostIPC: true (expected: false or unset)");
    }
    PodSecurityContext psc = spec.getSecurityContext();
    if (psc == null) {
      return;
    }
    if (psc.getRunAsUser() != null && psc.getRunAsUser() == 0) {
      v.add("spec.securityContext.runAsUser: 0 (expected: non-zero or unset)");
    }
    seccomp("spec.securityContext", psc.getSeccompProfile(), v);
    if (psc.getSeLinuxOptions() != null) {
      seLinux("spec.securityContext", psc.getSeLinuxOptions(), v);
    }
    if (psc.getAppArmorProfile() != null
        && "Unconfined".equals(psc.getAppArmorProfile().getType())) {
      v.add("spec.securityContext.appArmorProfile.type: Unconfined (expected: RuntimeDefault, Localhost or unset)");
    }
    if (psc.getWindowsOptions() != null
        && Boolean.TRUE.equals(psc.getWindowsOptions().getHostProcess())) {
      v.add("spec.securityContext.windowsOptions.hostProcess: true (expected: false or unset)");
    }
    for (Sysctl s : list(psc.getSysctls())) {
      if (!SAFE_SYSCTLS.contains(s.getName())) {
        v.add("spec.securityContext.sysctls: " + s.getName() + " (expected: one of " + SAFE_SYSCTLS + ")");
      }
    }
  }

  private static void container(Container c, PodSecurityContext psc, List<String> v) {
    String at = "container " + c.getName() + ": securityContext";
    SecurityContext sc = c.getSecurityContext() == null ? new SecurityContext() : c.getSecurityContext();
    if (Boolean.TRUE.equals(sc.getPrivileged())) {
      v.add(at + ".privileged: true (expected: false or unset)");
    }
    if (!Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) {
      v.add(at + ".allowPrivilegeEscalation: " + sc.getAllowPrivilegeEscalation() + " (expected: false)");
    }
    Capabilities caps = sc.getCapabilities();
    if (caps == null || !list(caps.getDrop()).contains("ALL")) {
      v.add(at + ".capabilities.drop: " + (caps == null ? null : caps.getDrop()) + " (expected: to contain ALL)");
    }
    if (caps != null) {
      for (String add : list(caps.getAdd())) {
        if (!"NET_BIND_SERVICE".equals(add)) {
          v.add(at + ".capabilities.add: " + add + " (expected: only NET_BIND_SERVICE)");
        }
      }
    }
    Boolean nonRoot = sc.getRunAsNonRoot() != null ? sc.getRunAsNonRoot() : psc == null ? null : psc.getRunAsNonRoot();
    if (!Boolean.TRUE.equals(nonRoot)) {
      v.add(at + ".runAsNonRoot: " + sc.getRunAsNonRoot() + " (expected: true, here or on the pod)");
    }
    if (sc.getRunAsUser() != null && sc.getRunAsUser() == 0) {
      v.add(at + ".runAsUser: 0 (expected: non-zero or unset)");
    }
    SeccompProfile profile = sc.getSeccompProfile() != null ? sc.getSeccompProfile() : psc == null ? null : psc.getSeccompProfile();
    if (profile == null) {
      v.add(at + ".seccompProfile: unset (expected: RuntimeDefault or Localhost, here or on the pod)");
    } else {
      seccomp(at, profile, v);
    }
    if (sc.getSeLinuxOptions() != null) {
      seLinux(at, sc.getSeLinuxOptions(), v);
    }
    if (sc.getProcMount() != null && !"Default".equals(sc.getProcMount())) {
      v.add(at + ".procMount: " + sc.getProcMount() + " (expected: Default or unset)");
    }
    if (sc.getAppArmorProfile() != null && "Unconfined".equals(sc.getAppArmorProfile().getType())) {
      v.add(at + ".appArmorProfile.type: Unconfined (expected: RuntimeDefault, Localhost or unset)");
    }
    if (sc.getWindowsOptions() != null && Boolean.TRUE.equals(sc.getWindowsOptions().getHostProcess())) {
      v.add(at + ".windowsOptions.hostProcess: true (expected: false or unset)");
    }
    for (ContainerPort p : list(c.getPorts())) {
      if (p.getHostPort() != null && p.getHostPort() != 0) {
        v.add("container " + c.getName() + ": ports.hostPort: " + p.getHostPort() + " (expected: 0 or unset)");
      }
    }
  }

  private static void seccomp(String at, SeccompProfile profile, List<String> v) {
    if (profile != null
        && !"RuntimeDefault".equals(profile.getType())
        && !"Localhost".equals(profile.getType())) {
      v.add(at + ".seccompProfile.type: " + profile.getType() + " (expected: RuntimeDefault or Localhost)");
    }
  }

  private static void seLinux(String at, io.fabric8.kubernetes.api.model.SELinuxOptions o, List<String> v) {
    if (o.getType() != null && !SELINUX_TYPES.contains(o.getType())) {
      v.add(at + ".seLinuxOptions.type: " + o.getType() + " (expected: one of " + SELINUX_TYPES + ")");
    }
    if (o.getUser() != null && !o.getUser().isEmpty()) {
      v.add(at + ".seLinuxOptions.user: " + o.getUser() + " (expected: unset)");
    }
    if (o.getRole() != null && !o.getRole().isEmpty()) {
      v.add(at + ".seLinuxOptions.role: " + o.getRole() + " (expected: unset)");
    }
  }

  private static void volume(Volume vol, List<String> v) {
    // The volume's type is its one field besides the name.
    Map<?, ?> fields = JSON.convertValue(vol, Map.class);
    for (Object key : fields.keySet()) {
      if (!"name".equals(key) && !ALLOWED_VOLUMES.contains(key)) {
        v.add("volume " + vol.getName() + ": type " + key + " (expected: one of " + ALLOWED_VOLUMES + ")");
      }
    }
  }

  private static List<Container> allContainers(PodSpec spec) {
    List<Container> all = new ArrayList<>(list(spec.getContainers()));
    all.addAll(list(spec.getInitContainers()));
    // Ephemeral containers carry the same security fields.
    for (var e : list(spec.getEphemeralContainers())) {
      all.add(JSON.convertValue(e, Container.class));
    }
    return all;
  }

  private static void same(String field, Object before, Object after, List<String> v) {
    if (!Objects.equals(before, after)) {
      v.add(field + ": changed from " + before + " to " + after + " (expected: as the pod came)");
    }
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
