package io.jmesh.injector;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import org.junit.jupiter.api.Test;

/** The restricted check finds what it should: without this, a passing check would prove nothing. */
class RestrictedPodSecurityTest {

  private static Pod plain() {
    return new PodBuilder()
        .withNewMetadata().withName("hello").endMetadata()
        .withNewSpec()
        .addNewContainer().withName("app").withImage("hello:1").endContainer()
        .endSpec()
        .build();
  }

  @Test
  void anAddedContainerWithNoSecurityContextBreaksEveryContainerRule() {
    Pod before = plain();
    Pod after = new PodBuilder(before).editSpec()
        .addToInitContainers(new ContainerBuilder().withName("bad-init").withImage("busybox").build())
        .endSpec().build();

    assertThat(RestrictedPodSecurity.checkAdditions(before, after))
        .containsExactly(
            "container bad-init: securityContext.allowPrivilegeEscalation: null (expected: false)",
            "container bad-init: securityContext.capabilities.drop: null (expected: to contain ALL)",
            "container bad-init: securityContext.runAsNonRoot: null (expected: true, here or on the pod)",
            "container bad-init: securityContext.seccompProfile: unset (expected: RuntimeDefault or Localhost, here or on the pod)");
  }

  @Test
  void anAddedContainerThatAsksForRootAndPrivilegeIsRefusedFieldByField() {
    Pod before = plain();
    Pod after = new PodBuilder(before).editSpec()
        .addToInitContainers(new ContainerBuilder().withName("bad-init").withImage("busybox")
            .withNewSecurityContext()
            .withPrivileged(true).withAllowPrivilegeEscalation(true).withRunAsNonRoot(false).withRunAsUser(0L)
            .withNewCapabilities().addToAdd("NET_ADMIN", "NET_BIND_SERVICE").addToDrop("ALL").endCapabilities()
            .withNewSeccompProfile().withType("Unconfined").endSeccompProfile()
            .withProcMount("Unmasked")
            .endSecurityContext()
            .addNewPort().withContainerPort(80).withHostPort(80).endPort()
            .build())
        .endSpec().build();

    assertThat(RestrictedPodSecurity.checkAdditions(before, after))
        .containsExactly(
            "container bad-init: securityContext.privileged: true (expected: false or unset)",
            "container bad-init: securityContext.allowPrivilegeEscalation: true (expected: false)",
            "container bad-init: securityContext.capabilities.add: NET_ADMIN (expected: only NET_BIND_SERVICE)",
            "container bad-init: securityContext.runAsNonRoot: false (expected: true, here or on the pod)",
            "container bad-init: securityContext.runAsUser: 0 (expected: non-zero or unset)",
            "container bad-init: securityContext.seccompProfile.type: Unconfined (expected: RuntimeDefault or Localhost)",
            "container bad-init: securityContext.procMount: Unmasked (expected: Default or unset)",
            "container bad-init: ports.hostPort: 80 (expected: 0 or unset)");
  }

  @Test
  void anAddedHostPathVolumeAndAChangedPodAreFound() {
    Pod before = plain();
    Pod after = new PodBuilder(before).editSpec()
        .withHostNetwork(true)
        .addToVolumes(new VolumeBuilder().withName("agent").withNewHostPath().withPath("/opt/jmesh").endHostPath().build())
        .editFirstContainer().withNewSecurityContext().withPrivileged(true).endSecurityContext().endContainer()
        .endSpec().build();

    assertThat(RestrictedPodSecurity.checkAdditions(before, after))
        .hasSize(3)
        .anyMatch(v -> v.startsWith("spec.hostNetwork: changed from null to true"))
        .anyMatch(v -> v.startsWith("app.securityContext: changed from null"))
        .anyMatch(v -> v.startsWith("volume agent: type hostPath (expected: one of"));
  }

  @Test
  void podLevelSettingsSatisfyTheContainerRulesTheyCover() {
    Pod pod = new PodBuilder(plain()).editSpec()
        .withNewSecurityContext().withRunAsNonRoot(true)
        .withNewSeccompProfile().withType("RuntimeDefault").endSeccompProfile().endSecurityContext()
        .editFirstContainer().withNewSecurityContext().withAllowPrivilegeEscalation(false)
        .withNewCapabilities().addToDrop("ALL").endCapabilities().endSecurityContext().endContainer()
        .endSpec().build();

    assertThat(RestrictedPodSecurity.check(pod)).isEmpty();
    // A plain pod, as most fixtures have, is no restricted pod.
    assertThat(RestrictedPodSecurity.check(plain())).hasSize(4);
  }
}
