package io.jmesh.controller.ca;

/**
 * A bearer token did not prove an identity. The message says why ("token expired at ...", "bad
 * signature") and never repeats the token.
 */
public final class AuthenticationException extends Exception {
  private static final long serialVersionUID = 1L;

  public AuthenticationException(String message) {
    super(message);
  }
}
