package io.jmesh.controller.cli;

import io.jmesh.controller.install.InstallOptions;
import io.jmesh.controller.install.Manifests;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code jmesh install}: prints the control plane's manifests for {@code kubectl apply -f -}. It
 * only prints; it talks to no cluster.
 */
@Command(
    name = "install",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the control plane's Kubernetes manifests (namespace, jmesh CRDs, RBAC, the controller's"
          + " Deployment, PodDisruptionBudget and Service, the trust-anchor ConfigMap) for"
          + " kubectl apply -f -."
    })
final class InstallCommand implements Callable<Integer> {
  @ParentCommand JmeshCli parent;

  @Option(
      names = "--namespace",
      paramLabel = "<name>",
      defaultValue = InstallOptions.DEFAULT_NAMESPACE,
      description = "The control plane's namespace. Default: ${DEFAULT-VALUE}.")
  String namespace;

  @Option(
      names = "--image",
      paramLabel = "<image>",
      description = "The controller's image. Default: " + InstallOptions.IMAGE_REPOSITORY + ":<jmesh version>.")
  String image;

  @Option(
      names = "--injector-image",
      paramLabel = "<image>",
      description = "The injector webhook's image. Default: " + InstallOptions.INJECTOR_IMAGE_REPOSITORY + ":<jmesh version>.")
  String injectorImage;

  @Option(
      names = "--agent-image",
      paramLabel = "<image>",
      description = "The image holding the agent jar, which the injector adds to pods. Default: "
          + InstallOptions.AGENT_IMAGE_REPOSITORY + ":<jmesh version>.")
  String agentImage;

  @Override
  public Integer call() {
    if (!namespace.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?") || namespace.length() > 63) {
      throw new picocli.CommandLine.ParameterException(parent.spec().commandLine(),
          "--namespace: \"" + namespace + "\" (expected: a DNS label, [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63)");
    }
    InstallOptions options =
        new InstallOptions(
            namespace,
            image == null ? InstallOptions.defaultImage() : image,
            injectorImage == null ? InstallOptions.defaultImage(InstallOptions.INJECTOR_IMAGE_REPOSITORY) : injectorImage,
            agentImage == null ? InstallOptions.defaultImage(InstallOptions.AGENT_IMAGE_REPOSITORY) : agentImage);
    var out = parent.spec().commandLine().getOut();
    out.print(Manifests.yaml(Manifests.objects(options)));
    out.flush();
    return 0;
  }
}
