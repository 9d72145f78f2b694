package dev.weft.controller;

import dev.weft.api.validation.FieldError;
import dev.weft.api.validation.Validated;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.zjsonpatch.DiffFlags;
import io.fabric8.zjsonpatch.JsonDiff;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Answers one AdmissionReview (v1) for the injection webhook: the Pod with its sidecar as an RFC
 * 6902 JSON patch, or the Pod unchanged. Transport-free: bytes in, status and bytes out.
 *
 * <p>The failure policy at this level: a review that is not one (not JSON, no {@code
 * request.uid}...) gets HTTP 400 with one line that says what is wrong, and the API server applies
 * the webhook's {@code failurePolicy}. A Pod this webhook cannot inject (its ports or volumes clash
 * with the sidecar's, a setting is missing, a bug here) is admitted without a sidecar, with a
 * warning the client sees ({@code kubectl} prints it) and a WARN log naming the Pod: refusing it
 * would turn one misconfigured Deployment, or a bug in Weft, into Pods that never start.
 *
 * <p>Stateless apart from the injector, which is immutable: safe on any number of threads.
 */
final class InjectionReviews {

  /** How a review ended: the {@code outcome} of {@code weft_injection_reviews_total}. */
  enum Outcome {
    /** The Pod was given its sidecar. */
    INJECTED,
    /** Nothing to do: opted out, host network, already injected, not a Pod's creation. */
    SKIPPED,
    /** A Pod that could not be injected, admitted without a sidecar and with a warning. */
    NOT_INJECTED,
    /** Not an AdmissionReview: HTTP 400. */
    MALFORMED;

    String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * What to send back.
   *
   * @param status the HTTP status
   * @param contentType its media type
   * @param body the body
   */
  record Answer(int status, String contentType, String body) {
    static Answer line(int status, String line) {
      return new Answer(status, "text/plain; charset=utf-8", line + "\n");
    }
  }

  /** Warnings are shown one per line; a handful says enough, and the API server truncates. */
  private static final int MAX_WARNINGS = 5;

  /**
   * add, remove and replace only: the patch reads as what was added, and never refers to another
   * path of the Pod (move, copy), which an edit of the Pod by an earlier webhook could displace.
   */
  private static final EnumSet<DiffFlags> PLAIN_PATCH =
      EnumSet.of(
          DiffFlags.OMIT_VALUE_ON_REMOVE,
          DiffFlags.OMIT_MOVE_OPERATION,
          DiffFlags.OMIT_COPY_OPERATION);

  private static final Logger log = LoggerFactory.getLogger(InjectionReviews.class);

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private final SidecarInjector injector;
  private final KubernetesSerialization serialization;
  private final Consumer<Outcome> outcomes;

  /**
   * @param outcomes told how each review ended (counted)
   */
  InjectionReviews(
      SidecarInjector injector, KubernetesSerialization serialization, Consumer<Outcome> outcomes) {
    this.injector = injector;
    this.serialization = serialization;
    this.outcomes = outcomes;
  }

  /** The answer to a request body. */
  Answer answer(byte[] body) {
    AdmissionEnvelope.Parsed parsed = AdmissionEnvelope.parse(body, serialization);
    if (parsed.request() == null) {
      return malformed(parsed.problem());
    }
    AdmissionRequest request = parsed.request();
    String uid = request.getUid();
    boolean podCreation =
        request.getKind() != null
            && "".equals(nullToEmpty(request.getKind().getGroup()))
            && "Pod".equals(request.getKind().getKind())
            && "CREATE".equals(request.getOperation());
    if (!podCreation) {
      // The webhook configuration sends Pod creations only; anything else passes unchanged.
      return allowed(uid, Outcome.SKIPPED, null, List.of());
    }
    if (request.getObject() == null) {
      return malformed("request.object is required for a Pod's creation");
    }
    Pod pod;
    try {
      pod =
          request.getObject() instanceof Pod decoded
              ? decoded
              : serialization.convertValue(request.getObject(), Pod.class);
    } catch (RuntimeException e) {
      return malformed("request.object is not a Pod: " + firstLine(e.getMessage()));
    }
    String namespace =
        request.getNamespace() != null && !request.getNamespace().isEmpty()
            ? request.getNamespace()
            : pod.getMetadata() == null ? null : pod.getMetadata().getNamespace();
    if (namespace == null || namespace.isEmpty()) {
      return malformed("request.namespace is required for a Pod");
    }
    return inject(uid, pod, namespace);
  }

  private Answer inject(String uid, Pod pod, String namespace) {
    String name = namespace + "/" + podName(pod);
    Validated<SidecarInjector.Injection> result;
    byte[] patch = null;
    List<String> warnings = List.of();
    try {
      result = injector.inject(pod, namespace);
      if (result instanceof Validated.Valid<SidecarInjector.Injection> valid
          && valid.value() instanceof SidecarInjector.Injected injected) {
        patch =
            JSON.writeValueAsBytes(JsonDiff.asJson(json(pod), json(injected.pod()), PLAIN_PATCH));
        warnings = injected.warnings();
      }
    } catch (RuntimeException e) {
      log.error("injecting a sidecar into {} failed; admitting it without one", name, e);
      return allowed(
          uid,
          Outcome.NOT_INJECTED,
          null,
          List.of(
              "weft: no sidecar injected: Weft failed ("
                  + firstLine(e.toString())
                  + "); this is a bug, please report it"));
    }
    if (patch != null) {
      if (warnings.isEmpty()) {
        log.debug("injected a sidecar into {}", name);
      } else {
        // The client of a Pod that a ReplicaSet creates never shows the warnings: log them too.
        log.warn("injected a sidecar into {}: {}", name, String.join("; ", warnings));
      }
      return allowed(uid, Outcome.INJECTED, patch, warnings);
    }
    if (result instanceof Validated.Valid<SidecarInjector.Injection> valid
        && valid.value() instanceof SidecarInjector.Skipped skipped) {
      log.debug("no sidecar for {}: {}", name, skipped.reason());
      return allowed(uid, Outcome.SKIPPED, null, List.of());
    }
    List<FieldError> errors = result.errors();
    log.warn("no sidecar injected into {}: {}", name, errors);
    return allowed(
        uid,
        Outcome.NOT_INJECTED,
        null,
        errors.stream()
            .limit(MAX_WARNINGS)
            .map(e -> "weft: no sidecar injected: " + e.path() + ": " + e.reason())
            .toList());
  }

  /** The Pod as the API server's JSON, through the same model both sides, so only edits differ. */
  private JsonNode json(Pod pod) {
    return JSON.readTree(serialization.asJson(pod));
  }

  private Answer allowed(String uid, Outcome outcome, byte[] patch, List<String> warnings) {
    AdmissionResponseBuilder response =
        new AdmissionResponseBuilder().withUid(uid).withAllowed(true);
    if (patch != null) {
      response.withPatchType("JSONPatch").withPatch(Base64.getEncoder().encodeToString(patch));
    }
    if (!warnings.isEmpty()) {
      response.withWarnings(warnings);
    }
    outcomes.accept(outcome);
    return new Answer(
        200, "application/json", AdmissionEnvelope.answer(response.build(), serialization));
  }

  private Answer malformed(String problem) {
    outcomes.accept(Outcome.MALFORMED);
    return Answer.line(400, "malformed AdmissionReview: " + problem);
  }

  /** The name, or {@code generateName*} for a Pod a controller is creating. */
  private static String podName(Pod pod) {
    if (pod.getMetadata() == null) {
      return "?";
    }
    if (pod.getMetadata().getName() != null && !pod.getMetadata().getName().isEmpty()) {
      return pod.getMetadata().getName();
    }
    return nullToEmpty(pod.getMetadata().getGenerateName()) + "*";
  }

  /** One line of at most 200 characters, so that an answer or a log line stays one line. */
  static String firstLine(String text) {
    if (text == null) {
      return "";
    }
    String line = text.strip().lines().findFirst().orElse("");
    return line.length() <= 200 ? line : line.substring(0, 200) + "...";
  }

  private static String nullToEmpty(String text) {
    return text == null ? "" : text;
  }
}
