package dev.weft.controller;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The service graph page ({@code /ui/}) as a person reads it, for browser tests: the numbers on the
 * graph's edges are read from the text drawn on them, the service panel from what it shows.
 * Elements are found by the page's ids and data attributes, which the page keeps stable for this.
 */
final class ServiceGraphPage {

  /**
   * An edge's label, "v1 · 0.42 rps · 4.0% err · p50 1.5 ms · p99 2.9 ms · 90% · mTLS" (the version
   * and mTLS only when known and on).
   */
  private static final Pattern LABEL =
      Pattern.compile(
          "(?:(?<version>\\S+) · )?(?<rps>[0-9.]+) rps · (?<errors>[0-9.]+)% err"
              + " · p50 (?<p50>[0-9.]+) ms · p99 (?<p99>[0-9.]+) ms · (?<share>[0-9]+)%"
              + "(?<mtls> · mTLS)?");

  private final WebDriver driver;
  private final Duration timeout;

  private ServiceGraphPage(WebDriver driver, Duration timeout) {
    this.driver = driver;
    this.timeout = timeout;
  }

  /**
   * Opens the page at {@code baseUrl} (such as {@code http://127.0.0.1:8080}), refreshing every
   * second, and waits for its first refresh.
   */
  static ServiceGraphPage open(WebDriver driver, String baseUrl, Duration timeout) {
    driver.get(baseUrl + "/ui/?refresh=1");
    ServiceGraphPage page = new ServiceGraphPage(driver, timeout);
    page.await(p -> p.refreshes() > 0);
    return page;
  }

  /** How often the page has refreshed itself since it was loaded. */
  int refreshes() {
    return Integer.parseInt(driver.findElement(By.id("status")).getDomAttribute("data-refreshes"));
  }

  /** The status line: when the page last refreshed, or why it could not. */
  String status() {
    return driver.findElement(By.id("status")).getText();
  }

  /** The edges drawn, read from their labels. */
  List<Edge> edges() {
    return driver.findElements(By.cssSelector("#graph g.edge")).stream().map(Edge::of).toList();
  }

  /**
   * The edge from a workload to one version of a service, as the graph API names them ({@code
   * workload:demo/web}, {@code service:greeter.demo.svc.cluster.local}, {@code v1} or {@code
   * unknown}).
   */
  Optional<Edge> edge(String source, String destination, String version) {
    return edges().stream()
        .filter(
            e ->
                e.source().equals(source)
                    && e.destination().equals(destination)
                    && e.version().equals(version))
        .findFirst();
  }

  /**
   * Waits until the edge from {@code source} to {@code version} of {@code destination} is drawn and
   * {@code shows} holds of it (the page refreshes by itself), and returns it.
   */
  Edge awaitEdge(String source, String destination, String version, Predicate<Edge> shows) {
    return await(p -> p.edge(source, destination, version).filter(shows).orElse(null));
  }

  /** The text of the service nodes drawn, such as {@code greeter.demo}. */
  List<String> serviceNodes() {
    return driver.findElements(By.cssSelector("#graph g.node.service text")).stream()
        .map(WebElement::getText)
        .toList();
  }

  /**
   * Clicks the node {@code nodeId} (a service's) and waits for its panel to show that service's
   * details.
   */
  Panel openService(String nodeId) {
    driver.findElement(By.cssSelector("#graph g.node[data-node-id='" + nodeId + "']")).click();
    await(
        p -> {
          WebElement panel = driver.findElement(By.id("service-panel"));
          String service = panel.getDomAttribute("data-service");
          return panel.isDisplayed()
              && service != null
              && service.equals(panel.getDomAttribute("data-shown-service"));
        });
    return new Panel();
  }

  /**
   * Waits until {@code condition} gives true or a value other than null (the page refreshes by
   * itself), or fails.
   */
  <T> T await(Function<ServiceGraphPage, T> condition) {
    return new WebDriverWait(driver, timeout, Duration.ofMillis(100))
        .ignoring(org.openqa.selenium.StaleElementReferenceException.class)
        .withMessage(
            () ->
                "the page did not get there; its status: "
                    + status()
                    + "; its panel's problem: "
                    + driver.findElement(By.id("panel-error")).getDomProperty("textContent"))
        .until(d -> condition.apply(this));
  }

  /**
   * One edge as drawn.
   *
   * @param label the text on it
   * @param errorPercent errors, in percent, as shown (one decimal)
   * @param sharePercent the version's share, in percent, as shown (a whole number)
   */
  record Edge(
      String source,
      String destination,
      String version,
      String label,
      double requestsPerSecond,
      double errorPercent,
      double p50Millis,
      double p99Millis,
      int sharePercent,
      boolean mutualTls) {

    static Edge of(WebElement group) {
      String label = group.findElement(By.cssSelector("text.edge-label")).getText();
      Matcher matcher = LABEL.matcher(label);
      if (!matcher.matches()) {
        throw new AssertionError("an edge's label reads \"" + label + "\"");
      }
      return new Edge(
          group.getDomAttribute("data-source"),
          group.getDomAttribute("data-destination"),
          group.getDomAttribute("data-version"),
          label,
          Double.parseDouble(matcher.group("rps")),
          Double.parseDouble(matcher.group("errors")),
          Double.parseDouble(matcher.group("p50")),
          Double.parseDouble(matcher.group("p99")),
          Integer.parseInt(matcher.group("share")),
          matcher.group("mtls") != null);
    }
  }

  /** The service panel, as shown. */
  final class Panel {

    /** {@code namespace/name} of the service shown. */
    String service() {
      return driver.findElement(By.id("service-panel")).getDomAttribute("data-service");
    }

    /**
     * The ports' rows, each as its cells' text joined by spaces ("grpc 50051 50051 TCP / grpc").
     */
    List<String> ports() {
      return rows("#panel-ports tbody tr");
    }

    /** "1 ready, 1 not ready". */
    String endpoints() {
      return driver.findElement(By.id("panel-endpoints-summary")).getText();
    }

    /** Endpoints per zone: "zone-a 1 0" (zone, ready, not ready). */
    List<String> zones() {
      return rows("#panel-zones tbody tr");
    }

    /** Routes and policies attached: "GRPCRoute demo/greeter-route". */
    List<String> attached() {
      return driver.findElements(By.cssSelector("#panel-attached > li.attached > strong")).stream()
          .map(WebElement::getText)
          .toList();
    }

    /**
     * The conditions of one attached route or policy, as shown: "Accepted: True (Accepted) —
     * attached to its parent Services".
     */
    List<String> conditions(String kind, String name) {
      return driver
          .findElements(
              By.cssSelector(
                  "#panel-attached > li.attached[data-kind='"
                      + kind
                      + "'][data-name='"
                      + name
                      + "'] li.condition"))
          .stream()
          .map(WebElement::getText)
          .toList();
    }

    /** The calls to the service: "from demo/web: 0.42 rps · 0.0% err · ...". */
    List<String> rates() {
      return driver.findElements(By.cssSelector("#panel-rates > li.rate")).stream()
          .map(WebElement::getText)
          .toList();
    }

    private List<String> rows(String selector) {
      return driver.findElements(By.cssSelector(selector)).stream()
          .map(
              row ->
                  String.join(
                      " ",
                      row.findElements(By.tagName("td")).stream()
                          .map(WebElement::getText)
                          .toList()))
          .toList();
    }
  }
}
