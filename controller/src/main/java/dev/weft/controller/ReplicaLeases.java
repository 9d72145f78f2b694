package dev.weft.controller;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Which replicas run, and where to reach them: each replica keeps a Lease of its own in the
 * control-plane namespace, {@code <prefix>-replica-<identity>}, labelled {@value #COMPONENT_LABEL}
 * {@code =}{@value #COMPONENT}, held by its identity and annotated with its peer address. It renews
 * it every renew period and deletes it when it stops; a Lease not renewed for its duration (a
 * replica that died) is ignored. kube-apiserver finds its peers the same way (its identity Leases
 * in {@code kube-system}).
 *
 * <p>Why Leases rather than the Service's endpoints: a replica counts as soon as it serves proxies,
 * ready or not, and a Lease says whose it is (the identity the status names) and where its HTTP API
 * is, with no watch and one list at most {@link #LIST_AT_MOST_EVERY}.
 *
 * <p>Thread-safety: renewals run on {@code executor}; {@link #peers()} may be called from any
 * thread, and caches the last list in a volatile field.
 */
final class ReplicaLeases implements SmartLifecycle {

  static final String COMPONENT_LABEL = "app.kubernetes.io/component";
  static final String COMPONENT = "weft-replica";
  static final String PEER_ADDRESS_ANNOTATION = "weft.dev/peer-address";

  /** A list is reused for this long: the status writer asks at every pass, every 200 ms. */
  static final Duration LIST_AT_MOST_EVERY = Duration.ofSeconds(1);

  private static final Logger log = LoggerFactory.getLogger(ReplicaLeases.class);

  /** Another replica, as its Lease says. */
  record Peer(String identity, String address) {}

  private record Listed(Instant at, List<Peer> peers) {}

  private final KubernetesClient client;
  private final String namespace;
  private final String identity;
  private final String leaseName;
  private final String namePrefix;
  private final WeftProperties.Replicas settings;
  private final ScheduledExecutorService executor;
  private final Clock clock;
  private volatile boolean running;
  private volatile Listed listed;
  private ScheduledFuture<?> renewals;

  ReplicaLeases(
      KubernetesClient client,
      String namespace,
      String identity,
      WeftProperties.Replicas settings,
      ScheduledExecutorService executor,
      Clock clock) {
    this.client = client;
    this.namespace = namespace;
    this.identity = identity;
    this.settings = settings;
    this.executor = executor;
    this.clock = clock;
    this.namePrefix = settings.leasePrefix() + "-replica-";
    this.leaseName = leaseName(namePrefix, identity);
  }

  /**
   * A Lease name for {@code identity}: a Pod name is one already; another host name is lowercased,
   * with what a name may not hold replaced by {@code -}, and cut to the 253 characters a name may
   * have. The Lease's holder keeps the identity as it is.
   */
  static String leaseName(String prefix, String identity) {
    String name =
        (prefix + identity.toLowerCase(Locale.ROOT)).replaceAll("[^a-z0-9.-]", "-").strip();
    name = name.length() > 253 ? name.substring(0, 253) : name;
    return name.replaceAll("[^a-z0-9]+$", "");
  }

  String identity() {
    return identity;
  }

  String leaseName() {
    return leaseName;
  }

  @Override
  public void start() {
    running = true;
    renewals =
        executor.scheduleWithFixedDelay(
            this::renew, 0, settings.renewPeriod().toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Creates or renews this replica's Lease; a failure is retried at the next period. */
  private void renew() {
    ZonedDateTime now = ZonedDateTime.ofInstant(clock.instant(), ZoneOffset.UTC);
    try {
      Lease current = client.leases().inNamespace(namespace).withName(leaseName).get();
      if (current == null) {
        client
            .resource(
                new LeaseBuilder()
                    .withNewMetadata()
                    .withName(leaseName)
                    .withNamespace(namespace)
                    .addToLabels(COMPONENT_LABEL, COMPONENT)
                    .addToLabels("app.kubernetes.io/managed-by", "weft")
                    .addToAnnotations(PEER_ADDRESS_ANNOTATION, settings.peerAddress())
                    .endMetadata()
                    .withNewSpec()
                    .withHolderIdentity(identity)
                    .withLeaseDurationSeconds((int) settings.leaseDuration().toSeconds())
                    .withAcquireTime(now)
                    .withRenewTime(now)
                    .endSpec()
                    .build())
            .create();
        log.info("{} announced itself to the other replicas in Lease {}", identity, leaseName);
        return;
      }
      current.getMetadata().getAnnotations().put(PEER_ADDRESS_ANNOTATION, settings.peerAddress());
      current.getSpec().setHolderIdentity(identity);
      current.getSpec().setLeaseDurationSeconds((int) settings.leaseDuration().toSeconds());
      current.getSpec().setRenewTime(now);
      client.resource(current).update();
    } catch (KubernetesClientException e) {
      log.info(
          "renewing Lease {} failed ({}); retrying in {}",
          leaseName,
          e.getMessage(),
          settings.renewPeriod());
    }
  }

  /**
   * The other replicas whose Lease is current, by identity; listed at most once per {@link
   * #LIST_AT_MOST_EVERY}. When the list fails, the last one is kept: the peers it names that are
   * gone do not answer, and say so.
   */
  List<Peer> peers() {
    Instant now = clock.instant();
    Listed last = listed;
    if (last != null && now.isBefore(last.at().plus(LIST_AT_MOST_EVERY))) {
      return last.peers();
    }
    try {
      List<Peer> peers = new ArrayList<>();
      for (Lease lease :
          client
              .leases()
              .inNamespace(namespace)
              .withLabel(COMPONENT_LABEL, COMPONENT)
              .list()
              .getItems()) {
        if (!lease.getMetadata().getName().startsWith(namePrefix)
            || lease.getSpec() == null
            || lease.getSpec().getHolderIdentity() == null
            || lease.getSpec().getHolderIdentity().equals(identity)
            || expired(lease, now)) {
          continue;
        }
        String address =
            lease.getMetadata().getAnnotations() == null
                ? ""
                : lease.getMetadata().getAnnotations().getOrDefault(PEER_ADDRESS_ANNOTATION, "");
        peers.add(new Peer(lease.getSpec().getHolderIdentity(), address));
      }
      peers.sort(Comparator.comparing(Peer::identity));
      listed = new Listed(now, List.copyOf(peers));
      return listed.peers();
    } catch (KubernetesClientException e) {
      log.debug("listing the replicas' Leases failed ({}); using the last list", e.getMessage());
      return last == null ? List.of() : last.peers();
    }
  }

  private static boolean expired(Lease lease, Instant now) {
    ZonedDateTime renewed = lease.getSpec().getRenewTime();
    Integer seconds = lease.getSpec().getLeaseDurationSeconds();
    return renewed == null
        || seconds == null
        || !now.isBefore(renewed.toInstant().plusSeconds(seconds));
  }

  /** Stops renewing and deletes the Lease, so that the others stop asking at once. */
  @Override
  public void stop() {
    if (!running) {
      executor.shutdownNow();
      return;
    }
    running = false;
    renewals.cancel(false);
    try {
      executor
          .submit(
              () -> {
                try {
                  client.leases().inNamespace(namespace).withName(leaseName).delete();
                } catch (KubernetesClientException e) {
                  log.info(
                      "deleting Lease {} failed ({}); the others ignore it once it lapses",
                      leaseName,
                      e.getMessage());
                }
              })
          .get(settings.peerTimeout().toMillis() * 5, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.info("deleting Lease {} did not finish: {}", leaseName, e.toString());
    } finally {
      executor.shutdownNow();
    }
  }

  @Override
  public boolean isRunning() {
    return running;
  }

  @Override
  public int getPhase() {
    return Phases.SERVERS;
  }
}
