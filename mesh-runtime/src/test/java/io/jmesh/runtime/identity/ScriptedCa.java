package io.jmesh.runtime.identity;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * A CertificateClient whose answers a test scripts: signed by a {@link TestCa} at the fake time,
 * a failure, or any answer it likes. Answers at once (the manager hops to its scheduler itself).
 */
final class ScriptedCa implements CertificateClient {
  interface Answer {
    List<String> answer(String csrPem, Duration lifetime) throws Exception;
  }

  private final Deque<Answer> script = new ArrayDeque<>();
  private final Answer otherwise;
  /** While set, every request fails with this message (the CA is down). */
  String down;
  int requests;
  Duration lastLifetime;

  ScriptedCa(TestCa ca, Supplier<java.time.Instant> now) {
    this.otherwise = (csr, lifetime) -> ca.answer(csr, now.get(), lifetime);
  }

  ScriptedCa then(Answer next) {
    script.add(next);
    return this;
  }

  ScriptedCa thenFail(String message) {
    return then((csr, l) -> {
      throw new IllegalStateException(message);
    });
  }

  @Override
  public CompletionStage<List<String>> create(String csrPem, Duration lifetime) {
    requests++;
    lastLifetime = lifetime;
    if (down != null) {
      return CompletableFuture.failedFuture(new IllegalStateException(down));
    }
    Answer a = script.isEmpty() ? otherwise : script.poll();
    try {
      return CompletableFuture.completedFuture(a.answer(csrPem, lifetime));
    } catch (Exception e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  @Override
  public String target() {
    return "scripted-ca";
  }

  @Override
  public void close() {}
}
