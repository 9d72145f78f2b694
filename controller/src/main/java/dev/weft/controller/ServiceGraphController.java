package dev.weft.controller;

import dev.weft.telemetry.TelemetryCollector;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/graph?window=1m}: the service graph from the telemetry collector's golden metrics
 * (docs/telemetry.md#the-service-graph). In a cluster it is behind the same door as {@code
 * /debug/*}: it shows who talks to whom.
 */
@RestController
@ConditionalOnBooleanProperty(name = "weft.telemetry.enabled", matchIfMissing = true)
class ServiceGraphController {

  private static final Pattern WINDOW = Pattern.compile("([1-9][0-9]{0,5})(s|m)");

  private final TelemetryCollector telemetry;

  ServiceGraphController(TelemetryCollector telemetry) {
    this.telemetry = telemetry;
  }

  @GetMapping(path = "/api/graph", produces = MediaType.APPLICATION_JSON_VALUE)
  ResponseEntity<?> graph(@RequestParam(defaultValue = "1m") String window) {
    Matcher matcher = WINDOW.matcher(window);
    Duration length = null;
    String problem;
    if (!matcher.matches()) {
      problem = "\"" + window + "\" is not a number of seconds or minutes, such as 30s or 1m";
    } else {
      long amount = Long.parseLong(matcher.group(1));
      length =
          matcher.group(2).equals("s") ? Duration.ofSeconds(amount) : Duration.ofMinutes(amount);
      problem =
          length.compareTo(telemetry.window()) > 0
              ? "at most " + telemetry.window().toSeconds() + "s (weft.telemetry.window)"
              : null;
    }
    if (problem != null) {
      return ResponseEntity.badRequest()
          .body(Map.of("errors", List.of(Map.of("field", "window", "reason", problem))));
    }
    try {
      return ResponseEntity.ok(telemetry.graph(length));
    } catch (IllegalArgumentException shorterThanASlot) {
      return ResponseEntity.badRequest()
          .body(
              Map.of(
                  "errors",
                  List.of(Map.of("field", "window", "reason", shorterThanASlot.getMessage()))));
    }
  }
}
