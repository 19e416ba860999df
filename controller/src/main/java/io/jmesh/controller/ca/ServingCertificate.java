package io.jmesh.controller.ca;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The controller's own TLS certificate for its gRPC port (xDS and the CA), issued by its own
 * {@link CertificateAuthority} and renewed like a workload's: a new EC P-256 key and leaf
 * (lifetime {@link #LIFETIME}, whatever the CA's maximum for workloads) once two thirds of the current one's life
 * have passed. {@link #keyManager()} presents whichever leaf is current at each handshake, so a
 * renewal needs no restart and changes no open connection.
 *
 * <p>Subject alternative names: the names given (DNS names, and IP literals as IP addresses);
 * agents check the one they dialled (or {@code jmesh.controller.tls.name}) against them.
 *
 * <p>Thread-safety: {@link #renewIfDue} may run on any thread (the controller runs it on a timer);
 * the key manager is read by handshakes on any thread.
 */
public final class ServingCertificate {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.ca");

  /** The lifetime asked for each serving certificate, like a workload's. */
  public static final Duration LIFETIME = Duration.ofHours(24);

  private final LeafSigner signer;
  private final List<String> names;
  private final Clock clock;
  private final SecureRandom random;
  private final KeyManager keyManager = new KeyManager();

  private volatile Leaf current;
  private volatile Leaf previous; // still resolvable by alias during a renewal's handshakes

  ServingCertificate(LeafSigner signer, List<String> names, Clock clock, SecureRandom random) {
    this.signer = Objects.requireNonNull(signer, "signer");
    this.names = List.copyOf(names);
    this.clock = Objects.requireNonNull(clock, "clock");
    this.random = Objects.requireNonNull(random, "random");
    this.current = issue();
  }

  /** The subject alternative names of every leaf, in order. */
  public List<String> names() {
    return names;
  }

  /** The leaf in force. */
  public X509Certificate certificate() {
    return current.chain[0];
  }

  /** When the leaf in force is due for renewal: two thirds into its life. */
  public Instant renewAt() {
    return current.renewAt;
  }

  /**
   * Issues a new leaf if the current one is two thirds into its life at the clock's instant.
   *
   * @return whether a new leaf was issued
   */
  public synchronized boolean renewIfDue() {
    if (clock.instant().isBefore(current.renewAt)) {
      return false;
    }
    Leaf next = issue();
    previous = current;
    current = next;
    LOG.log(
        Level.INFO,
        "TLS: renewed the controller's serving certificate (serial "
            + next.chain[0].getSerialNumber().toString(16)
            + ", valid until "
            + next.chain[0].getNotAfter().toInstant()
            + ", renewal at "
            + next.renewAt
            + ")");
    return true;
  }

  /** Presents the current leaf at every server handshake; never a client certificate. */
  public X509ExtendedKeyManager keyManager() {
    return keyManager;
  }

  /** A new EC P-256 key pair. */
  static KeyPair newKeyPair(SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), random);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no EC P-256 key generator", e);
    }
  }

  private Leaf issue() {
    KeyPair keys = newKeyPair(random);
    X509Certificate[] chain = signer.signServing(keys.getPublic(), names, LIFETIME);
    return new Leaf(keys.getPrivate(), chain);
  }

  private static final class Leaf {
    final PrivateKey key;
    final X509Certificate[] chain;
    final String alias;
    final Instant renewAt;

    Leaf(PrivateKey key, X509Certificate[] chain) {
      this.key = key;
      this.chain = chain;
      this.alias = "jmesh-controller-" + chain[0].getSerialNumber().toString(16);
      Instant from = chain[0].getNotBefore().toInstant();
      Duration life = Duration.between(from, chain[0].getNotAfter().toInstant());
      this.renewAt = from.plus(life.multipliedBy(2).dividedBy(3));
    }
  }

  /**
   * The JDK asks for an alias, then for its chain and key in separate calls: the previous leaf
   * stays resolvable, so a renewal in between cannot pair one leaf's chain with another's key.
   */
  private final class KeyManager extends X509ExtendedKeyManager {
    private Leaf byAlias(String alias) {
      for (Leaf leaf : new Leaf[] {current, previous}) {
        if (leaf != null && leaf.alias.equals(alias)) {
          return leaf;
        }
      }
      return null;
    }

    private String serverAlias(String keyType) {
      return keyType == null || keyType.startsWith("EC") ? current.alias : null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return serverAlias(keyType);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return serverAlias(keyType);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      String alias = serverAlias(keyType);
      return alias == null ? null : new String[] {alias};
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      Leaf leaf = byAlias(alias);
      return leaf == null ? null : leaf.chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      Leaf leaf = byAlias(alias);
      return leaf == null ? null : leaf.key;
    }
  }
}
