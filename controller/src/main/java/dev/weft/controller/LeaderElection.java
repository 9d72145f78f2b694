package dev.weft.controller;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Elects one leader among the replicas with a Kubernetes Lease, and runs the tasks that must happen
 * once (status writes, the CA's root rotation, the trust bundle) only while this replica leads.
 *
 * <p>A campaign is one Fabric8 {@code LeaderElector}: it tries to acquire the Lease every retry
 * period, then renews it until a renewal fails for longer than the renew deadline (an API server
 * away) or someone else holds it. An elector cannot be restarted once it has stepped down, so when
 * a term ends this class starts a new campaign after one retry period: a replica that lost the
 * Lease campaigns again, and leads again when the Lease is free. Fabric8 signals the end of a term
 * by the {@code onStopLeading} callback, and not always by completing its future (when the API
 * server is away as it steps down), so both end a campaign; a campaign number keeps the second
 * signal from starting a second campaign.
 *
 * <p>Thread-safety: Fabric8 calls back on its own threads, inside its lock; the callbacks only hand
 * work to {@link #executor}, a single thread that owns {@link #campaign}, {@link #campaignNumber}
 * and the calls to the tasks, so tasks start and stop one at a time, in order. {@link #leading} and
 * {@link #leader} are volatile for readers on other threads.
 */
final class LeaderElection implements SmartLifecycle {

  /** Something that runs only on the leader. */
  interface LeaderTask {
    void startLeading();

    void stopLeading();
  }

  private static final Logger log = LoggerFactory.getLogger(LeaderElection.class);

  private final KubernetesClient client;
  private final String namespace;
  private final String identity;
  private final WeftProperties.LeaderElection settings;
  private final List<LeaderTask> tasks;
  private final ScheduledExecutorService executor =
      DaemonThreads.singleThread("weft-leader-election");

  private CompletableFuture<?> campaign;
  private long campaignNumber;
  private volatile boolean running;
  private volatile boolean leading;
  private volatile String leader = "";

  LeaderElection(
      KubernetesClient client,
      String namespace,
      String identity,
      WeftProperties.LeaderElection settings,
      List<LeaderTask> tasks) {
    this.client = client;
    this.namespace = namespace;
    this.identity = identity;
    this.settings = settings;
    this.tasks = List.copyOf(tasks);
  }

  @Override
  public void start() {
    running = true;
    executor.execute(this::campaign);
  }

  /** Whether this replica holds the Lease and runs the leader tasks. */
  boolean isLeader() {
    return leading;
  }

  /** The holder of the Lease as last seen, or empty when none was seen. */
  String leader() {
    return leader;
  }

  String identity() {
    return identity;
  }

  /** Starts a new elector. Runs on the executor. */
  private void campaign() {
    if (!running) {
      return;
    }
    long number = ++campaignNumber;
    campaign =
        client
            .leaderElector()
            .withConfig(
                new LeaderElectionConfigBuilder()
                    .withName(settings.leaseName())
                    .withLock(new LeaseLock(namespace, settings.leaseName(), identity))
                    .withLeaseDuration(settings.leaseDuration())
                    .withRenewDeadline(settings.renewDeadline())
                    .withRetryPeriod(settings.retryPeriod())
                    // Fabric8's release leaves the holder in place, so other Fabric8 candidates
                    // would wait out the lease duration; release() hands the Lease over instead.
                    .withReleaseOnCancel(false)
                    .withLeaderCallbacks(
                        new LeaderCallbacks(
                            () -> onExecutor(() -> startLeading(number)),
                            () -> onExecutor(() -> endTerm(number)),
                            holder -> onNewLeader(holder)))
                    .build())
            .build()
            .start();
    var unused = campaign.whenComplete((ok, failure) -> onExecutor(() -> endTerm(number)));
  }

  private void onNewLeader(String holder) {
    leader = holder == null ? "" : holder;
    log.info("leader is {}", leader.isEmpty() ? "nobody (the Lease was released)" : leader);
  }

  private void startLeading(long number) {
    if (number != campaignNumber || !running || leading) {
      return;
    }
    leading = true;
    log.info("{} leads: starting {} leader tasks", identity, tasks.size());
    tasks.forEach(LeaderTask::startLeading);
  }

  /** A campaign ended: step down if leading, and campaign again after one retry period. */
  private void endTerm(long number) {
    if (number != campaignNumber) {
      return; // already ended by its other signal
    }
    campaignNumber++;
    campaign.cancel(true);
    stepDown();
    if (running) {
      log.info("{} campaigns again for the Lease in {}", identity, settings.retryPeriod());
      var unused =
          executor.schedule(
              this::campaign, settings.retryPeriod().toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void stepDown() {
    if (leading) {
      leading = false;
      log.info("{} stopped leading", identity);
      tasks.forEach(LeaderTask::stopLeading);
    }
  }

  /**
   * Empties the Lease's holder if this replica still holds it: every candidate (Fabric8's and
   * client-go's alike) takes an unheld Lease at its next try. The update carries the Lease's
   * resource version, so it fails rather than undo a renewal by a new leader.
   */
  private void release() {
    try {
      Lease lease = client.leases().inNamespace(namespace).withName(settings.leaseName()).get();
      if (lease != null && identity.equals(lease.getSpec().getHolderIdentity())) {
        lease.getSpec().setHolderIdentity("");
        client.resource(lease).update();
        log.info("{} released the Lease", identity);
      }
    } catch (KubernetesClientException e) {
      log.warn(
          "{} could not release the Lease ({}); another replica takes it when it lapses",
          identity,
          e.getMessage());
    }
  }

  private void onExecutor(Runnable task) {
    try {
      executor.execute(task);
    } catch (RejectedExecutionException stopped) {
      // Shut down: nothing leads here any more.
    }
  }

  /**
   * Stops campaigning; a leader stops its tasks and releases the Lease, so that another replica
   * takes over within a retry period rather than a lease duration.
   */
  @Override
  public void stop() {
    running = false;
    CompletableFuture<Void> stopped = new CompletableFuture<>();
    try {
      executor.execute(
          () -> {
            campaignNumber++;
            if (campaign != null) {
              campaign.cancel(true);
            }
            if (leading) {
              stepDown();
              release();
            }
            stopped.complete(null);
          });
      stopped.get(settings.retryPeriod().toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException | ExecutionException e) {
      log.debug("stopping the leader election", e);
    } catch (TimeoutException e) {
      log.warn("stepping down took longer than {}", settings.retryPeriod().multipliedBy(2));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      executor.shutdownNow();
    }
  }

  @Override
  public boolean isRunning() {
    return running;
  }
}
