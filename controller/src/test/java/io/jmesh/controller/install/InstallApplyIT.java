package io.jmesh.controller.install;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code jmesh install}'s output applied to fabric8's mock API server (CRUD mode), as
 * {@code kubectl apply -f -} would: the client loads the stream and each object is created, then
 * read back by kind, namespace and name.
 */
@EnableKubernetesMockClient(crud = true)
class InstallApplyIT {
  KubernetesClient client;

  @Test
  void everyObjectIsCreatedAndReadBack() {
    String yaml = ManifestsTest.install();
    List<HasMetadata> loaded =
        client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items();
    assertThat(loaded).hasSize(ManifestsTest.documents(yaml).size());

    for (HasMetadata o : loaded) {
      HasMetadata created = client.resource(o).create();
      assertThat(created.getMetadata().getUid()).as("%s %s", o.getKind(), o.getMetadata().getName()).isNotNull();
    }
    for (HasMetadata o : loaded) {
      HasMetadata stored = client.resource(o).get();
      assertThat(stored).as("%s %s read back", o.getKind(), o.getMetadata().getName()).isNotNull();
      assertThat(stored.getKind()).isEqualTo(o.getKind());
    }

    Deployment d = client.apps().deployments().inNamespace(InstallOptions.DEFAULT_NAMESPACE)
        .withName(Manifests.CONTROLLER).get();
    assertThat(d.getSpec().getTemplate().getSpec().getServiceAccountName()).isEqualTo(Manifests.CONTROLLER);
    Deployment injector = client.apps().deployments().inNamespace(InstallOptions.DEFAULT_NAMESPACE)
        .withName(Manifests.INJECTOR).get();
    assertThat(injector.getSpec().getTemplate().getSpec().getServiceAccountName()).isEqualTo(Manifests.INJECTOR);
    assertThat(client.services().inNamespace(InstallOptions.DEFAULT_NAMESPACE).withName(Manifests.INJECTOR).get())
        .isNotNull();
    assertThat(client.rbac().clusterRoles().withName(Manifests.INJECTOR).get()).isNotNull();
    assertThat(client.admissionRegistration().v1().mutatingWebhookConfigurations().withName(Manifests.INJECTOR)
        .get().getWebhooks()).hasSize(2);
    assertThat(client.apiextensions().v1().customResourceDefinitions().list().getItems())
        .extracting(c -> c.getMetadata().getName())
        .containsExactlyInAnyOrderElementsOf(JmeshCrds.KINDS.stream().map(JmeshCrds.Kind::crdName).toList());
  }

  @Test
  void applyingTwiceIsIdempotent() {
    // kubectl apply again after an upgrade: every object is updated in place, none duplicated.
    String yaml = ManifestsTest.install();
    for (int round = 0; round < 2; round++) {
      for (HasMetadata o : client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items()) {
        client.resource(o).createOr(r -> r.update());
      }
    }
    assertThat(client.rbac().clusterRoles().list().getItems()).hasSize(2);
    assertThat(client.admissionRegistration().v1().mutatingWebhookConfigurations().list().getItems()).hasSize(1);
    assertThat(client.configMaps().inNamespace(InstallOptions.DEFAULT_NAMESPACE).list().getItems()).hasSize(1);
  }
}
