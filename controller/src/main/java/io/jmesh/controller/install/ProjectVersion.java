package io.jmesh.controller.install;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The project version, written into {@code jmesh-version.properties} by Maven's resource
 * filtering, so that it is known in tests and in the IDE too, not only in the packaged jar.
 */
final class ProjectVersion {
  private static final String RESOURCE = "/io/jmesh/controller/install/jmesh-version.properties";

  private ProjectVersion() {}

  static String get() {
    try (InputStream in = ProjectVersion.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + ": missing (expected: written by the build from pom.xml)");
      }
      Properties p = new Properties();
      p.load(in);
      String version = p.getProperty("version");
      if (version == null || version.isBlank() || version.startsWith("${")) {
        throw new IllegalStateException(RESOURCE + ": version " + version + " (expected: the project version, filtered by Maven)");
      }
      return version;
    } catch (IOException e) {
      throw new UncheckedIOException(RESOURCE, e);
    }
  }
}
