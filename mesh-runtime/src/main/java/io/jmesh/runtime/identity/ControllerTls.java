package io.jmesh.runtime.identity;

import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * How the agent reaches the controller's gRPC port (xDS and the CA): TLS verified against trust
 * anchors read from a file the agent got out of band ({@code JMESH_TRUST_ANCHORS_FILE}), never
 * from the channel being verified; or plaintext, only when explicitly asked for.
 *
 * <p>With TLS, the controller's certificate must chain (PKIX) to one of the file's anchors and name
 * the host dialled (or {@code expectedName}) in its subject alternative names: gRPC turns on
 * hostname verification for the channel's authority. When a client key manager is given, each new
 * connection presents the certificate it holds at that moment (none before the workload's first
 * certificate), so the controller knows whose stream it is.
 *
 * <p>Immutable and thread-safe. Each channel gets an SSL context of its own: a shared one would
 * resume a session made before the workload had a certificate (TLS 1.3 tickets) and so present
 * none on the new connection either.
 */
public final class ControllerTls {
  private static final ControllerTls PLAINTEXT = new ControllerTls(null, List.of(), null, null);

  private final Path anchorsFile; // null: plaintext
  private final List<X509Certificate> anchors;
  private final String expectedName; // null: the host dialled
  private final X509ExtendedKeyManager clientKeys; // null: none

  private ControllerTls(
      Path anchorsFile,
      List<X509Certificate> anchors,
      String expectedName,
      X509ExtendedKeyManager clientKeys) {
    this.anchorsFile = anchorsFile;
    this.anchors = List.copyOf(anchors);
    this.expectedName = expectedName;
    this.clientKeys = clientKeys;
  }

  /** Plaintext to the controller: for local demos only ({@code --insecure-plaintext}). */
  public static ControllerTls insecurePlaintext() {
    return PLAINTEXT;
  }

  /**
   * TLS verified with the certificates of {@code anchorsFile} (PEM).
   *
   * @param expectedName the name the controller's certificate must carry; null for the host
   *     dialled
   * @param clientKeys presents the workload's certificate on each new connection; null for none
   * @throws IOException naming the file when it cannot be read or holds no certificate
   */
  public static ControllerTls fromAnchorsFile(
      Path anchorsFile, String expectedName, X509ExtendedKeyManager clientKeys)
      throws IOException {
    Objects.requireNonNull(anchorsFile, "anchorsFile");
    List<X509Certificate> anchors;
    try {
      anchors = Pem.certificates(Files.readString(anchorsFile, StandardCharsets.US_ASCII));
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new IOException(
          anchorsFile + ": cannot read trust anchors (expected: a PEM file of CA certificates,"
              + " the controller's trust-anchors.pem): " + e.getMessage(), e);
    }
    if (anchors.isEmpty()) {
      throw new IOException(
          anchorsFile + ": holds no certificate (expected: a PEM file of CA certificates,"
              + " the controller's trust-anchors.pem)");
    }
    ControllerTls tls = new ControllerTls(anchorsFile, anchors, expectedName, clientKeys);
    try {
      tls.newContext(); // fails now, with the file's name, rather than at the first connection
    } catch (SSLException | GeneralSecurityException e) {
      throw new IOException("TLS to the controller: cannot build the client context: " + e, e);
    }
    return tls;
  }

  private SslContext newContext() throws SSLException, GeneralSecurityException {
    SslContextBuilder builder =
        GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
            .trustManager(trustManager(anchors))
            .endpointIdentificationAlgorithm("HTTPS");
    if (clientKeys != null) {
      builder.keyManager(clientKeys);
    }
    return builder.build();
  }

  /** Whether this is plaintext. */
  public boolean isPlaintext() {
    return anchorsFile == null;
  }

  /** The trust anchors of the file; empty for plaintext. */
  public List<X509Certificate> anchors() {
    return anchors;
  }

  /** A channel builder to {@code host:port}, with this TLS (and authority) or plaintext. */
  public NettyChannelBuilder channel(String host, int port) {
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress(host, port);
    if (isPlaintext()) {
      return builder.usePlaintext();
    }
    try {
      builder.sslContext(newContext());
    } catch (SSLException | GeneralSecurityException e) {
      // It was built once in fromAnchorsFile with the same inputs.
      throw new IllegalStateException("TLS to the controller: cannot build the client context", e);
    }
    if (expectedName != null) {
      // The name checked against the certificate (and sent as SNI and :authority).
      builder.overrideAuthority(expectedName + ":" + port);
    }
    return builder;
  }

  /** For log lines: how the controller is verified. */
  public String describe() {
    if (isPlaintext()) {
      return "plaintext (insecure)";
    }
    return "TLS verified with the trust anchors in "
        + anchorsFile
        + (expectedName == null ? "" : " for the name " + expectedName);
  }

  /** What a TLS refusal expected, for error messages: the anchors' file and the name. */
  public String expectation() {
    return "a controller certificate that chains to the trust anchors in "
        + anchorsFile
        + " and names "
        + (expectedName == null ? "the host dialled" : expectedName);
  }

  /**
   * Checks that a CA answer (PEM certificates: leaf, issuers, anchors) roots in this file's
   * anchors; nothing to check in plaintext. The runtime trusts the anchors a CA answer carries for
   * mesh peers, so an answer from elsewhere must not get that far.
   *
   * @throws GeneralSecurityException naming the chain's issuer and the file
   */
  public void requireRootedInAnchors(List<String> pemChain, Instant now)
      throws GeneralSecurityException {
    if (isPlaintext()) {
      return;
    }
    List<X509Certificate> all = new ArrayList<>();
    for (String pem : pemChain) {
      all.addAll(Pem.certificates(pem));
    }
    if (all.isEmpty()) {
      throw new GeneralSecurityException("CA answer holds no certificate");
    }
    List<X509Certificate> path = new ArrayList<>();
    for (X509Certificate c : all) {
      if (!PeerVerifier.isSelfSigned(c)) {
        path.add(c);
      }
    }
    try {
      SpiffeId id = PeerVerifier.identity(all.get(0));
      PeerVerifier.verify(path.toArray(new X509Certificate[0]), anchors, id.trustDomain(), now);
    } catch (PeerRefusedException e) {
      throw new GeneralSecurityException(
          "CA answer does not root in the trust anchors of "
              + anchorsFile
              + " (expected: a chain to one of "
              + subjects(anchors)
              + "): "
              + e.getMessage(),
          e);
    }
  }

  /**
   * The TLS failure in {@code error}'s causes, or null: a handshake the controller's certificate
   * failed (untrusted anchor, wrong name) or that the controller refused.
   */
  public static SSLException tlsFailure(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof SSLException) {
        return (SSLException) t;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  private static List<String> subjects(List<X509Certificate> certificates) {
    List<String> out = new ArrayList<>();
    for (X509Certificate c : certificates) {
      out.add("\"" + c.getSubjectX500Principal().getName() + "\"");
    }
    return out;
  }

  /**
   * The JDK's PKIX checks (path, validity, key usage; the host name when the engine asks for it)
   * against exactly {@code anchors}, none of the JDK's own.
   */
  public static X509ExtendedTrustManager trustManager(List<X509Certificate> anchors)
      throws GeneralSecurityException {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    try {
      store.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
    for (int i = 0; i < anchors.size(); i++) {
      store.setCertificateEntry("anchor-" + i, anchors.get(i));
    }
    TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
    factory.init(store);
    for (TrustManager manager : factory.getTrustManagers()) {
      if (manager instanceof X509ExtendedTrustManager) {
        return (X509ExtendedTrustManager) manager;
      }
    }
    throw new GeneralSecurityException("the JDK's PKIX trust manager factory made no X.509 one");
  }
}
