package io.jmesh.injector;

/** Thrown inside a mutation to end it with a denial; {@link PodInjector} turns it into an {@link Outcome}. */
final class InjectionRefused extends RuntimeException {
  private final Outcome.Denial denial;

  InjectionRefused(Outcome.Denial denial, String message) {
    super(message, null, false, false);
    this.denial = denial;
  }

  Outcome outcome() {
    return Outcome.denied(denial, getMessage());
  }
}
