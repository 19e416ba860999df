package io.jmesh.controller.install;

/**
 * One permission the controller needs: a verb on a resource of an API group, cluster-wide or in
 * the controller's own namespace. {@link ControllerRbac} writes the RBAC rules from these, and
 * {@code jmesh check --kubernetes} asks the API server about each of them, so the two cannot
 * drift apart.
 *
 * @param group the API group, {@code ""} for the core group
 * @param resource the resource, with a subresource after a slash ({@code httproutes/status})
 * @param verb the verb ({@code list}, {@code create}, ...)
 * @param namespace the namespace it is needed in, or {@code null} for every namespace
 * @param name the one object it is needed on (a rule's {@code resourceNames}), or {@code null} for
 *     every object
 */
public record ControllerPermission(
    String group, String resource, String verb, String namespace, String name) {

  /** A permission on every object of the resource. */
  public ControllerPermission(String group, String resource, String verb, String namespace) {
    this(group, resource, verb, namespace, null);
  }

  /** {@code list services}, {@code update gateway.networking.k8s.io/httproutes/status in jmesh-system}. */
  @Override
  public String toString() {
    return verb + " " + (group.isEmpty() ? "" : group + "/") + resource
        + (name == null ? "" : " " + name)
        + (namespace == null ? "" : " in " + namespace);
  }
}
