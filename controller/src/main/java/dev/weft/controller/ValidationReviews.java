package dev.weft.controller;

import dev.weft.api.validation.FieldError;
import dev.weft.registry.ConfigValidation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesResource;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponseBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Answers one AdmissionReview (v1) for the validating webhook: a route, policy or Gateway the
 * registry would refuse is refused at {@code kubectl apply}, with every field and reason; anything
 * else is allowed. The checks are the registry's own ({@link ConfigValidation}), so an object the
 * webhook lets through (it is down, and its failure policy is Ignore) meets the same refusal in the
 * registry, with the last good version serving. Transport-free: bytes in, status and bytes out.
 *
 * <p>Stateless: safe on any number of threads.
 */
final class ValidationReviews {

  /** The path the API server posts to. */
  static final String PATH = "/validate";

  /** How a review ended: the {@code outcome} of {@code weft_validation_reviews_total}. */
  enum Outcome {
    ALLOWED,
    /** Refused: the object is invalid. */
    DENIED,
    /** Not a creation or update of a kind Weft reads: allowed unread. */
    SKIPPED,
    /** Not an AdmissionReview: HTTP 400. */
    MALFORMED;

    String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private static final Set<String> CHECKED_OPERATIONS = Set.of("CREATE", "UPDATE");

  private final KubernetesSerialization serialization;
  private final Consumer<Outcome> outcomes;

  ValidationReviews(KubernetesSerialization serialization, Consumer<Outcome> outcomes) {
    this.serialization = serialization;
    this.outcomes = outcomes;
  }

  InjectionReviews.Answer answer(byte[] body) {
    AdmissionEnvelope.Parsed parsed = AdmissionEnvelope.parse(body, serialization);
    if (parsed.request() == null) {
      outcomes.accept(Outcome.MALFORMED);
      return InjectionReviews.Answer.line(400, "malformed AdmissionReview: " + parsed.problem());
    }
    AdmissionRequest request = parsed.request();
    if (!CHECKED_OPERATIONS.contains(request.getOperation()) || request.getObject() == null) {
      return respond(Outcome.SKIPPED, allowed(request));
    }
    HasMetadata object;
    try {
      KubernetesResource decoded =
          request.getObject() instanceof KubernetesResource resource
              ? resource
              : serialization.convertValue(request.getObject(), KubernetesResource.class);
      if (!(decoded instanceof HasMetadata typed)) {
        return respond(Outcome.SKIPPED, allowed(request));
      }
      object = typed;
    } catch (RuntimeException e) {
      // The CRD's schema admits it, but its fields do not read as Weft's model: say where.
      return respond(
          Outcome.DENIED,
          denied(request, "cannot be read: " + InjectionReviews.firstLine(e.getMessage())));
    }
    List<FieldError> errors = ConfigValidation.errorsOf(object);
    if (errors.isEmpty()) {
      return respond(Outcome.ALLOWED, allowed(request));
    }
    return respond(
        Outcome.DENIED,
        denied(
            request, errors.stream().map(FieldError::toString).collect(Collectors.joining("; "))));
  }

  private static AdmissionResponse allowed(AdmissionRequest request) {
    return new AdmissionResponseBuilder().withUid(request.getUid()).withAllowed(true).build();
  }

  /**
   * A refusal as kubectl prints it: {@code admission webhook "..." denied the request: <kind>
   * <namespace>/<name>: <field>: <reason>; ...}.
   */
  private static AdmissionResponse denied(AdmissionRequest request, String why) {
    String kind = request.getKind() == null ? "object" : request.getKind().getKind();
    String name =
        (request.getNamespace() == null || request.getNamespace().isEmpty()
                ? ""
                : request.getNamespace() + "/")
            + (request.getName() == null ? "" : request.getName());
    return new AdmissionResponseBuilder()
        .withUid(request.getUid())
        .withAllowed(false)
        .withStatus(
            new StatusBuilder()
                .withCode(422)
                .withReason("Invalid")
                .withMessage(kind + " " + name + ": " + why)
                .build())
        .build();
  }

  private InjectionReviews.Answer respond(Outcome outcome, AdmissionResponse response) {
    outcomes.accept(outcome);
    return new InjectionReviews.Answer(
        200, "application/json", AdmissionEnvelope.answer(response, serialization));
  }
}
