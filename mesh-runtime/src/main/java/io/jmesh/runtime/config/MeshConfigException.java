package io.jmesh.runtime.config;

/**
 * A mesh config that cannot be applied. The message is one line a user can act on: {@code
 * <source>:<line>: <field path>: <value> (expected: <what>)}.
 */
public final class MeshConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String source;
  private final int line;

  MeshConfigException(String source, int line, String detail) {
    super(source + ":" + line + ": " + detail);
    this.source = source;
    this.line = line;
  }

  /** The file (or other source) the config came from. */
  public String source() {
    return source;
  }

  /** The 1-based line of the offending node. */
  public int line() {
    return line;
  }
}
