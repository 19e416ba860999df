package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.jmesh.controller.ca.CertificateAuthority;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The CA's keys in a Kubernetes Secret, so that every replica signs with the same CA. At start a
 * replica reads the Secret. If it is absent, only the replica holding the Lease ({@link
 * StatusLeader}) makes a new CA and creates the Secret; the others wait for it, bounded by {@link
 * Wait#timeout()}, looking again with a growing pause, and take it up when it appears. A waiting
 * replica that wins the Lease meanwhile (the leader died before creating it) creates it itself.
 * The 409 Conflict of a create that meets another's Secret stays a safety net (two leaders for a
 * moment around an expired Lease): the loser reads and uses the winner's CA, never overwrites it.
 *
 * <p>The Secret's keys are the file names of a CA directory ({@code anchor.pem}, {@code
 * anchor-key.pem}, {@code issuer.pem}, {@code issuer-key.pem}, optional {@code trust-bundle.pem}),
 * checked as a directory is (controller README, "Files in the CA directory").
 *
 * <p>Thread-safety: {@link #loadOrCreate} is a blocking call for start-up, from one thread.
 */
public final class CaSecret {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.ca");

  private CaSecret() {}

  /**
   * How long a replica that is not the leader waits for the leader to create the Secret, and how
   * often it looks: first after {@code firstPause}, then twice as long each time up to {@code
   * maxPause}.
   */
  public record Wait(Duration timeout, Duration firstPause, Duration maxPause) {
    /**
     * 20 s: longer than a Lease's 15 s plus a 2 s retry, so a leader that died before creating it
     * is replaced (its Lease expires, a waiting replica takes it and creates the Secret) within
     * the bound; and shorter than the ~25 s after which the liveness probe of {@code jmesh
     * install} (5 s delay, 3 failures 10 s apart) restarts a pod that does not answer, so the log
     * says why rather than a probe.
     */
    public static final Wait DEFAULT =
        new Wait(Duration.ofSeconds(20), Duration.ofMillis(100), Duration.ofSeconds(2));

    public Wait {
      if (timeout.isNegative()
          || firstPause.isNegative()
          || firstPause.isZero()
          || maxPause.compareTo(firstPause) < 0) {
        throw new IllegalArgumentException(
            "secret wait: timeout " + timeout + ", first pause " + firstPause + ", max pause "
                + maxPause + " (expected: timeout >= 0, max pause >= first pause > 0)");
      }
    }
  }

  /** What a start found: the CA, and whether this replica created its Secret. */
  record Loaded(CertificateAuthority ca, boolean created) {}

  /**
   * Loads the CA of Secret {@code namespace/name}; if it is absent, creates it when this replica
   * leads, else waits for the leader to create it.
   *
   * @param leader the election, started: only its winner creates the Secret
   * @throws IOException if the Secret cannot be read or created, does not hold a good CA, or is
   *     still absent after {@code wait.timeout()}; the message names the Secret, the key or the
   *     leader waited for, and what is wrong
   */
  static Loaded loadOrCreate(
      KubernetesClient client,
      String namespace,
      String name,
      String trustDomain,
      Duration maxLeafLifetime,
      Clock clock,
      StatusLeader leader,
      Wait wait)
      throws IOException {
    String location = "secret " + namespace + "/" + name;
    long deadline = System.nanoTime() + wait.timeout().toNanos();
    Duration pause = wait.firstPause();
    String waitingFor = "";
    while (true) {
      Secret existing = get(client, namespace, name, location);
      if (existing != null) {
        return new Loaded(load(existing, location, trustDomain, maxLeafLifetime, clock), false);
      }
      if (leader.leading()) {
        return create(client, namespace, name, location, trustDomain, maxLeafLifetime, clock);
      }
      String holder = leader.leader() == null ? "(none elected yet)" : leader.leader();
      if (System.nanoTime() - deadline >= 0) {
        throw new IOException(
            location + ": still absent after " + wait.timeout() + " waiting for the leader "
                + holder + " (Lease " + leader.lease() + ") to create it (expected: the replica"
                + " holding the Lease creates it at start; check that replica's log and its"
                + " permission to create secrets in " + namespace + ")");
      }
      if (!holder.equals(waitingFor)) {
        // Once per leader, not once per look: the line says who is expected to act.
        LOG.log(
            Level.INFO,
            "certificate authority: " + location + " absent; waiting for the leader " + holder
                + " (Lease " + leader.lease() + ") to create it, up to " + wait.timeout()
                + " (this replica, " + leader.settings().identity() + ", is not leading)");
        waitingFor = holder;
      }
      long left = deadline - System.nanoTime();
      try {
        TimeUnit.NANOSECONDS.sleep(Math.max(0, Math.min(pause.toNanos(), left)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(location + ": interrupted while waiting for the leader " + holder, e);
      }
      pause = pause.multipliedBy(2).compareTo(wait.maxPause()) > 0
          ? wait.maxPause()
          : pause.multipliedBy(2);
    }
  }

  /** Makes a new CA and creates its Secret; on 409, loads the Secret that won. */
  private static Loaded create(
      KubernetesClient client,
      String namespace,
      String name,
      String location,
      String trustDomain,
      Duration maxLeafLifetime,
      Clock clock)
      throws IOException {
    Map<String, String> pems = CertificateAuthority.newCaPems(trustDomain, clock);
    Map<String, String> data = new LinkedHashMap<>();
    pems.forEach(
        (key, pem) ->
            data.put(
                key, Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII))));
    Secret secret =
        new SecretBuilder()
            .withNewMetadata()
            .withName(name)
            .withNamespace(namespace)
            .addToLabels("app.kubernetes.io/part-of", "jmesh")
            .addToAnnotations(
                "jmesh.io/contents",
                "the jmesh CA: trust anchor and issuer with their keys (controller README,"
                    + " Kubernetes identity)")
            .endMetadata()
            .withType("Opaque")
            .withData(data)
            .build();
    try {
      client.secrets().inNamespace(namespace).resource(secret).create();
    } catch (KubernetesClientException e) {
      if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
        throw new IOException(
            location + ": cannot create: " + e.getCode() + " " + e.getMessage(), e);
      }
      // Another replica created it first (it led a moment before us): sign with its CA, never
      // a second one.
      LOG.log(Level.INFO, location + ": created by another replica meanwhile; loading it");
      Secret existing = get(client, namespace, name, location);
      if (existing == null) {
        throw new IOException(
            location + ": create answered 409 Conflict but the Secret cannot be read back");
      }
      return new Loaded(load(existing, location, trustDomain, maxLeafLifetime, clock), false);
    }
    CertificateAuthority ca =
        CertificateAuthority.fromPems(location, pems, trustDomain, maxLeafLifetime, clock);
    LOG.log(
        Level.INFO,
        "certificate authority: made a new trust anchor and issuer for trust domain "
            + trustDomain
            + " in "
            + location
            + "; the anchor is valid until "
            + ca.anchors().get(0).getNotAfter().toInstant());
    return new Loaded(ca, true);
  }

  private static CertificateAuthority load(
      Secret existing, String location, String trustDomain, Duration maxLeafLifetime, Clock clock)
      throws IOException {
    CertificateAuthority ca =
        CertificateAuthority.fromPems(
            location, decode(existing, location), trustDomain, maxLeafLifetime, clock);
    LOG.log(
        Level.INFO,
        "certificate authority: loaded from "
            + location
            + ": issuer "
            + ca.issuer().getSubjectX500Principal()
            + " valid until "
            + ca.issuer().getNotAfter().toInstant());
    return ca;
  }

  private static Secret get(KubernetesClient client, String namespace, String name, String location)
      throws IOException {
    try {
      return client.secrets().inNamespace(namespace).withName(name).get();
    } catch (KubernetesClientException e) {
      throw new IOException(location + ": cannot read: " + e.getCode() + " " + e.getMessage(), e);
    }
  }

  private static Map<String, String> decode(Secret secret, String location) throws IOException {
    Map<String, String> pems = new LinkedHashMap<>();
    if (secret.getStringData() != null) {
      pems.putAll(secret.getStringData());
    }
    if (secret.getData() != null) {
      for (Map.Entry<String, String> e : secret.getData().entrySet()) {
        try {
          pems.put(
              e.getKey(),
              new String(Base64.getMimeDecoder().decode(e.getValue()), StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException bad) {
          throw new IOException(
              location + " key " + e.getKey() + ": not base64 (expected: PEM, base64-encoded)",
              bad);
        }
      }
    }
    return pems;
  }
}
