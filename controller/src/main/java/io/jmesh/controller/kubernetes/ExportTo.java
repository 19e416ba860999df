package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.Service;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The namespaces a Service is visible in, from its annotation {@value #ANNOTATION} (Istio's
 * {@code networking.istio.io/exportTo}, as an annotation): {@code *} (the default) for all
 * namespaces, {@code .} for its own, or a comma-separated list of namespaces where {@code .} names
 * its own. A bad value fails closed: the Service is visible in its own namespace only, and {@link
 * #problem} says why, naming the annotation, the value and what was expected.
 *
 * @param namespaces the namespaces that may see the Service; null: all
 * @param problem why the annotation was not understood; null when it was
 */
record ExportTo(Set<String> namespaces, String problem) {
  static final String ANNOTATION = "jmesh.io/export-to";

  private static final ExportTo ALL = new ExportTo(null, null);

  // A namespace name is a DNS-1123 label.
  private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  /** Whether every namespace may see the Service. */
  boolean all() {
    return namespaces == null;
  }

  /** Whether the clients of {@code namespace} may see the Service. */
  boolean allows(String namespace) {
    return namespaces == null || namespaces.contains(namespace);
  }

  /** The export of {@code service}, from its annotation. */
  static ExportTo of(Service service) {
    Map<String, String> annotations = service.getMetadata().getAnnotations();
    String value = annotations == null ? null : annotations.get(ANNOTATION);
    return parse(service.getMetadata().getNamespace(), service.getMetadata().getName(), value);
  }

  static ExportTo parse(String namespace, String name, String value) {
    if (value == null || value.strip().equals("*")) {
      return ALL;
    }
    Set<String> namespaces = new TreeSet<>();
    for (String entry : value.split(",", -1)) {
      String e = entry.strip();
      if (e.equals(".")) {
        namespaces.add(namespace);
      } else if (NAMESPACE.matcher(e).matches()) {
        namespaces.add(e);
      } else {
        String why = e.isEmpty() ? "an empty entry" : "entry \"" + e + "\" is not a namespace name";
        String problem =
            "Service " + namespace + "/" + name + ": annotation " + ANNOTATION + ": \"" + value
                + "\" (expected: \"*\", \".\" or a comma-separated list of namespaces where \".\""
                + " is the Service's own; " + why + "): visible in its own namespace "
                + namespace + " only";
        return new ExportTo(Set.of(namespace), problem);
      }
    }
    return new ExportTo(Set.copyOf(namespaces), null);
  }
}
