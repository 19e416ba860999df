package io.jmesh.controller.kubernetes;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.RequestConfig;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfig;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Which replica writes route statuses and creates the CA's Secret: the one holding a {@code
 * coordination.k8s.io/v1} Lease, elected with fabric8's leader election. Every replica translates,
 * serves xDS and signs; only the leader writes, so N replicas do not fight over the same status
 * and make one CA, not N.
 *
 * <p>Election runs on the client's executor and never blocks the caller: until it wins, the
 * replica simply does not write. On winning, every {@link #onGained} callback runs, so the new
 * leader writes the current statuses at once (what changed while no one led is corrected then).
 * Closing releases the Lease, so another replica takes over without waiting for it to expire.
 * One election per replica: the CA's start and the mesh source share it.
 *
 * <p>A replica that loses the Lease (it could not renew it within the renew deadline, e.g. while
 * the API server was unreachable) campaigns again after a retry period, with a new fabric8
 * elector (one runs once): a replica cut off for a while leads again once it is back and nobody
 * else holds the Lease, instead of never writing again.
 *
 * <p>A write already under way when leadership is lost may still land, as with any Kubernetes
 * controller; the next leader writes over it from its own caches.
 *
 * <p>Thread-safety: {@link #leading()} may be read from any thread.
 */
public final class StatusLeader implements AutoCloseable {
  private static final Logger LOG = System.getLogger(StatusLeader.class.getName());

  private final KubernetesClient failFast; // the given client's HTTP client, bounded requests
  private final Settings settings;
  private final List<Runnable> onGained = new CopyOnWriteArrayList<>();
  private volatile boolean leading;
  private volatile String leader; // the holder last observed, null before the first look
  private CompletableFuture<?> election; // guarded by this
  private boolean closed; // guarded by this

  /** An election on {@code client} (not closed with it), not started. */
  public StatusLeader(KubernetesClient client, Settings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.failFast = failFast(Objects.requireNonNull(client, "client"), settings);
  }

  /**
   * {@code client} with no request retries and each request bounded by the Lease's duration less
   * the renew deadline. fabric8 retries a failed request with backoff for about a minute by
   * default, and its elector checks the renew deadline only between attempts: a leader cut off
   * from the API server went on believing it led for a minute while another replica took the
   * expired Lease. Bounded so, it stops leading by the time the Lease can expire.
   */
  private static KubernetesClient failFast(KubernetesClient client, Settings settings) {
    RequestConfig base = client.getConfiguration().getRequestConfig();
    long timeoutMs = settings.leaseDuration().minus(settings.renewDeadline()).toMillis();
    RequestConfig bounded =
        new RequestConfig(
            base.getWatchReconnectLimit(),
            base.getWatchReconnectInterval(),
            (int) Math.min(Integer.MAX_VALUE, timeoutMs),
            base.getScaleTimeout(),
            base.getLoggingInterval(),
            0,
            base.getRequestRetryBackoffInterval(),
            base.getUploadRequestTimeout());
    return client.newClient(bounded).adapt(KubernetesClient.class);
  }

  /** Runs {@code callback} on the election's thread each time this replica gains the Lease. */
  public void onGained(Runnable callback) {
    onGained.add(Objects.requireNonNull(callback, "callback"));
  }

  /** Starts campaigning; returns at once. A second call does nothing. */
  public synchronized void start() {
    if (election != null || closed) {
      return;
    }
    campaign();
  }

  /** One fabric8 election; when it ends without {@link #close}, another after a retry period. */
  private synchronized void campaign() {
    if (closed) {
      return;
    }
    LeaderElectionConfig config =
        new LeaderElectionConfig(
            new LeaseLock(settings.namespace(), settings.leaseName(), settings.identity()),
            settings.leaseDuration(),
            settings.renewDeadline(),
            settings.retryPeriod(),
            new LeaderCallbacks(this::gained, this::lost, this::newLeader),
            true,
            settings.leaseName());
    CompletableFuture<?> started = failFast.leaderElector().withConfig(config).build().start();
    election = started;
    started.whenComplete(
        (ok, error) -> {
          if (error instanceof java.util.concurrent.CancellationException) {
            return; // closed
          }
          if (error != null) {
            LOG.log(Level.WARNING, describe() + ": election ended: " + error);
          }
          leading = false; // fabric8 said so through lost() already, unless it failed first
          long retryMs = settings.retryPeriod().toMillis();
          CompletableFuture.delayedExecutor(retryMs, TimeUnit.MILLISECONDS).execute(this::campaign);
        });
  }

  /** Whether this replica holds the Lease, as last seen by the election. */
  boolean leading() {
    return leading;
  }

  /** {@link #leading()}, for callers outside this package. */
  public boolean isLeading() {
    return leading;
  }

  /** The Lease's holder as last observed (maybe this replica), or null before the first look. */
  String leader() {
    return leader;
  }

  /** Where and how this replica campaigns. */
  Settings settings() {
    return settings;
  }

  /** The Lease, {@code namespace/name}, for messages. */
  String lease() {
    return settings.namespace() + "/" + settings.leaseName();
  }

  private void gained() {
    leading = true;
    leader = settings.identity();
    LOG.log(
        Level.INFO, describe() + ": leading; writing route statuses (and the CA's Secret if absent)");
    onGained.forEach(Runnable::run);
  }

  private void lost() {
    leading = false;
    LOG.log(Level.INFO, describe() + ": not leading; route statuses left to the leader");
  }

  private void newLeader(String identity) {
    leader = identity;
    LOG.log(Level.DEBUG, describe() + ": leader is " + identity);
  }

  private String describe() {
    return "kubernetes: Lease " + settings.namespace() + "/" + settings.leaseName() + " as "
        + settings.identity();
  }

  /** Stops campaigning and releases the Lease if held. */
  @Override
  public synchronized void close() {
    // Idempotent: the mesh source and the controller's main may both close it.
    closed = true;
    leading = false;
    if (election != null) {
      election.cancel(true); // releaseOnCancel: the Lease is given up, not left to expire
    }
  }

  /**
   * Where and how to elect the status writer.
   *
   * @param namespace the controller's namespace, where the Lease lives
   * @param leaseName the Lease's name, the same for every replica
   * @param identity this replica's name in the Lease: its pod name, or a generated id
   * @param leaseDuration how long a Lease not renewed keeps others out
   * @param renewDeadline how long the leader tries to renew before it stops leading
   * @param retryPeriod how often replicas try to acquire or renew
   */
  public record Settings(
      String namespace,
      String leaseName,
      String identity,
      Duration leaseDuration,
      Duration renewDeadline,
      Duration retryPeriod) {
    /** The Lease's name by default. */
    public static final String DEFAULT_LEASE_NAME = "jmesh-controller";

    public Settings {
      Objects.requireNonNull(namespace, "namespace");
      Objects.requireNonNull(leaseName, "leaseName");
      Objects.requireNonNull(identity, "identity");
      // fabric8 checks these too; say it here with the values, naming the settings.
      if (!(leaseDuration.compareTo(renewDeadline) > 0
          && renewDeadline.compareTo(retryPeriod.multipliedBy(12).dividedBy(10)) > 0
          && !retryPeriod.isNegative()
          && !retryPeriod.isZero())) {
        throw new IllegalArgumentException(
            "lease timings: duration " + leaseDuration + ", renew deadline " + renewDeadline
                + ", retry period " + retryPeriod
                + " (expected: duration > renew deadline > 1.2 x retry period > 0)");
      }
    }

    /**
     * Kubernetes controllers' timings (15 s Lease, 10 s renew deadline, 2 s retry) in {@code
     * namespace}, named after the pod ({@code HOSTNAME}) or a generated id outside a pod.
     */
    public static Settings defaults(String namespace) {
      String host = System.getenv("HOSTNAME");
      String identity =
          host != null && !host.isBlank() ? host : "jmesh-controller-" + UUID.randomUUID();
      return new Settings(
          namespace, DEFAULT_LEASE_NAME, identity, Duration.ofSeconds(15), Duration.ofSeconds(10),
          Duration.ofSeconds(2));
    }
  }
}
