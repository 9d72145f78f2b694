package dev.weft.controller;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Elects one leader among the replicas with a Kubernetes Lease, and runs the tasks that must happen
 * once (status writes) only while this replica leads. Losing the lease stops them; the elector then
 * campaigns again.
 *
 * <p>Thread-safety: the elector's callbacks run on its own thread; {@code start} and {@code stop}
 * are called by Spring, one at a time.
 */
final class LeaderElection implements SmartLifecycle {

  /** Something that runs only on the leader. */
  interface LeaderTask {
    void startLeading();

    void stopLeading();
  }

  static final String LEASE_NAME = "weft-leader";

  // The Kubernetes client-go defaults, which every controller operator knows: a new leader within
  // about 15 s of a crash, renewals every 2 s.
  private static final Duration LEASE_DURATION = Duration.ofSeconds(15);
  private static final Duration RENEW_DEADLINE = Duration.ofSeconds(10);
  private static final Duration RETRY_PERIOD = Duration.ofSeconds(2);

  private static final Logger log = LoggerFactory.getLogger(LeaderElection.class);

  private final KubernetesClient client;
  private final String namespace;
  private final String identity;
  private final List<LeaderTask> tasks;
  private volatile CompletableFuture<?> election;

  LeaderElection(
      KubernetesClient client, String namespace, String identity, List<LeaderTask> tasks) {
    this.client = client;
    this.namespace = namespace;
    this.identity = identity;
    this.tasks = List.copyOf(tasks);
  }

  @Override
  public void start() {
    election =
        client
            .leaderElector()
            .withConfig(
                new LeaderElectionConfigBuilder()
                    .withName(LEASE_NAME)
                    .withLock(new LeaseLock(namespace, LEASE_NAME, identity))
                    .withLeaseDuration(LEASE_DURATION)
                    .withRenewDeadline(RENEW_DEADLINE)
                    .withRetryPeriod(RETRY_PERIOD)
                    .withReleaseOnCancel(true)
                    .withLeaderCallbacks(
                        new LeaderCallbacks(
                            this::startLeading,
                            this::stopLeading,
                            leader -> log.info("leader is {}", leader)))
                    .build())
            .build()
            .start();
  }

  private void startLeading() {
    log.info("{} leads: starting {} leader tasks", identity, tasks.size());
    tasks.forEach(LeaderTask::startLeading);
  }

  private void stopLeading() {
    log.info("{} stopped leading", identity);
    tasks.forEach(LeaderTask::stopLeading);
  }

  @Override
  public void stop() {
    CompletableFuture<?> running = election;
    if (running != null) {
      running.cancel(true);
      election = null;
    }
  }

  @Override
  public boolean isRunning() {
    return election != null;
  }
}
