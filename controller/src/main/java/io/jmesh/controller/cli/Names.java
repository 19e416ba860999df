package io.jmesh.controller.cli;

/** How the CLI matches a service name a user typed against the mesh's qualified names. */
final class Names {
  private Names() {}

  /**
   * {@code hello} matches {@code hello.default} and {@code hello.prod} (any namespace); {@code
   * hello.default} only itself.
   */
  static boolean matches(String typed, String qualified) {
    return qualified.equals(typed)
        || (qualified.length() > typed.length()
            && qualified.startsWith(typed)
            && qualified.charAt(typed.length()) == '.');
  }
}
