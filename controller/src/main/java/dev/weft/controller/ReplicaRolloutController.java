package dev.weft.controller;

import dev.weft.distributor.ConfigDistributor;
import dev.weft.registry.MeshRegistry;
import java.util.List;
import java.util.Map;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * What this replica's proxies hold of the objects the leader asks about ({@link ReplicaRollouts}).
 * Under {@code /debug/}, behind the same door as the debug API: the leader calls it with its own
 * ServiceAccount's token.
 */
@RestController
class ReplicaRolloutController {

  private final MeshRegistry registry;
  private final ConfigDistributor distributor;
  private final ReplicaPeers peers;

  ReplicaRolloutController(
      MeshRegistry registry, ConfigDistributor distributor, ReplicaPeers peers) {
    this.registry = registry;
    this.distributor = distributor;
    this.peers = peers;
  }

  @PostMapping(
      path = ReplicaRollouts.PATH,
      consumes = MediaType.APPLICATION_JSON_VALUE,
      produces = MediaType.APPLICATION_JSON_VALUE)
  ResponseEntity<?> rollouts(@RequestBody ReplicaRollouts.Request request) {
    if (request.objects() == null || request.objects().contains(null)) {
      return ResponseEntity.badRequest()
          .body(
              Map.of(
                  "errors",
                  List.of(
                      Map.of(
                          "field", "objects",
                          "reason", "required: a list of {kind, namespace, name}"))));
    }
    return ResponseEntity.ok(
        ReplicaRollouts.local(
            peers.identity(), registry.current(), distributor, request.objects()));
  }
}
