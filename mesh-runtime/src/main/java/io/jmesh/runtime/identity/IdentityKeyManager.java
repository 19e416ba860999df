package io.jmesh.runtime.identity;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents this workload's current certificate in every handshake. The JDK asks for the alias,
 * then for its chain and key in separate calls; aliases are per leaf, and the previous leaf stays
 * resolvable, so a renewal between those calls cannot pair one leaf's chain with another's key.
 * Without a valid certificate it offers none, and the peer refuses the handshake (fails closed).
 */
final class IdentityKeyManager extends X509ExtendedKeyManager {
  private final IdentityManager identity;
  private volatile WorkloadCertificate previous;
  private volatile WorkloadCertificate last;

  IdentityKeyManager(IdentityManager identity) {
    this.identity = identity;
  }

  private String alias() {
    WorkloadCertificate c = identity.current();
    if (c == null) {
      return null;
    }
    WorkloadCertificate l = last;
    if (l != c) {
      previous = l;
      last = c;
    }
    return c.alias();
  }

  private WorkloadCertificate byAlias(String alias) {
    for (WorkloadCertificate c : new WorkloadCertificate[] {last, previous, identity.current()}) {
      if (c != null && c.alias().equals(alias)) {
        return c;
      }
    }
    return null;
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return alias();
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return keyType == null || keyType.startsWith("EC") ? alias() : null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return alias();
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return keyType == null || keyType.startsWith("EC") ? alias() : null;
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String a = alias();
    return a == null ? null : new String[] {a};
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return getClientAliases(keyType, issuers);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    WorkloadCertificate c = byAlias(alias);
    return c == null ? null : c.chain();
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    WorkloadCertificate c = byAlias(alias);
    return c == null ? null : c.key();
  }
}
