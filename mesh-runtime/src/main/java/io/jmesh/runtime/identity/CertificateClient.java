package io.jmesh.runtime.identity;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Asks a certificate authority to sign a CSR. Implementations must not block the caller; the
 * stage completes on any thread.
 */
public interface CertificateClient extends AutoCloseable {
  /**
   * @param csrPem a PEM PKCS#10 request
   * @param lifetime the lifetime asked for; the CA may grant less
   * @return the PEM certificates of the answer: leaf, issuers, trust anchors
   */
  CompletionStage<List<String>> create(String csrPem, Duration lifetime);

  /** Where the requests go, for log lines. */
  String target();

  @Override
  void close();
}
