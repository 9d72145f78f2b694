package dev.weft.controller;

import dev.weft.distributor.ConfigDistributor;
import dev.weft.distributor.Rollout;
import dev.weft.registry.MeshConfig;
import dev.weft.registry.MeshState;
import dev.weft.registry.ObjectKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import tools.jackson.databind.JavaType;
import tools.jackson.databind.json.JsonMapper;

/**
 * Rollouts across replicas. Each replica knows only the proxies connected to it, so the leader asks
 * the others ({@code POST /debug/replica/rollouts}) for what theirs hold of the objects whose
 * status it writes, and {@link RolloutConditions} adds it up.
 *
 * <p>A replica answers with its own view of each object: the version it accepted (its {@code
 * metadata.generation}, which status writes do not change, so every replica that has seen the same
 * spec says the same), whether its distributor published it, and its proxies' counts. The leader
 * counts the proxies of a replica that has another version, or has not published it, as not holding
 * the leader's version: they do not, yet.
 */
final class ReplicaRollouts {

  static final String PATH = "/debug/replica/rollouts";

  /** The objects the leader asks about. */
  record Request(List<ObjectKey> objects) {}

  /**
   * One object on one replica.
   *
   * @param object which
   * @param version the version this replica accepted ({@link #version})
   * @param published whether this replica's distributor has published that version
   * @param proxies how many of this replica's proxies it concerns
   * @param holding how many of them hold it (none while not published)
   * @param rejected those that rejected it since it was published, sorted by node id
   */
  record ObjectRollout(
      ObjectKey object,
      String version,
      boolean published,
      int proxies,
      int holding,
      List<Rollout.Rejected> rejected) {}

  /** One replica's answer: its objects (those it has accepted of the ones asked about). */
  record Answer(String replica, List<ObjectRollout> rollouts) {}

  /**
   * What the other replicas said in one pass.
   *
   * @param peers how many other replicas there are (their Leases are current)
   * @param answered per replica that answered, its rollouts by object
   * @param unanswered per replica that did not, the reason
   */
  record Peers(
      int peers,
      Map<String, Map<ObjectKey, ObjectRollout>> answered,
      Map<String, String> unanswered) {

    /** No other replica: standalone, a single replica, or the local view only. */
    static final Peers NONE = new Peers(0, Map.of(), Map.of());
  }

  private ReplicaRollouts() {}

  /**
   * The version of an object that replicas compare: its generation, which only a change of its spec
   * moves; its resource version where the API server keeps no generation.
   */
  static String version(MeshConfig config) {
    Long generation = config.resource().getMetadata().getGeneration();
    if (generation != null) {
      return "generation " + generation;
    }
    String resourceVersion = config.resource().getMetadata().getResourceVersion();
    return resourceVersion == null ? "" : "resourceVersion " + resourceVersion;
  }

  /** This replica's answer about {@code objects}: those it holds an accepted version of. */
  static Answer local(
      String replica, MeshState state, ConfigDistributor distributor, List<ObjectKey> objects) {
    List<ObjectRollout> rollouts = new ArrayList<>();
    for (ObjectKey key : objects) {
      MeshConfig config = state.config(key).orElse(null);
      if (config == null) {
        continue;
      }
      Rollout rollout = distributor.rollout(config).orElse(null);
      rollouts.add(
          rollout == null
              ? new ObjectRollout(
                  key, version(config), false, distributor.concernedProxies(config), 0, List.of())
              : new ObjectRollout(
                  key,
                  version(config),
                  true,
                  rollout.proxies(),
                  rollout.holding(),
                  rollout.rejected()));
    }
    return new Answer(replica, rollouts);
  }

  /** Asks every other replica about {@code objects}. */
  static Peers ask(ReplicaPeers peers, Collection<ObjectKey> objects, JsonMapper json) {
    if (objects.isEmpty()) {
      return Peers.NONE;
    }
    JavaType answer = json.constructType(Answer.class);
    ReplicaPeers.Answers<Answer> answers =
        peers.ask(PATH, new Request(List.copyOf(objects)), answer);
    Map<String, Map<ObjectKey, ObjectRollout>> answered = new TreeMap<>();
    answers
        .answered()
        .forEach(
            (replica, a) -> {
              Map<ObjectKey, ObjectRollout> byKey = new TreeMap<>();
              a.rollouts().forEach(r -> byKey.put(r.object(), r));
              answered.put(replica, byKey);
            });
    return new Peers(answers.asked(), answered, new TreeMap<>(answers.unanswered()));
  }
}
