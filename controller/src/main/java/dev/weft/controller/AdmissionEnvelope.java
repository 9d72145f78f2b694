package dev.weft.controller;

import io.fabric8.kubernetes.api.model.admission.v1.AdmissionRequest;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionResponse;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReview;
import io.fabric8.kubernetes.api.model.admission.v1.AdmissionReviewBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The {@code admission.k8s.io/v1} AdmissionReview both of Weft's webhooks read and answer: the
 * request out of a body, checked for what every review must carry, and a response back into one.
 */
final class AdmissionEnvelope {

  static final String API_VERSION = "admission.k8s.io/v1";

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private AdmissionEnvelope() {}

  /**
   * A request read from a body, or why the body is not a review (answered with HTTP 400).
   *
   * @param request the request, with a uid; null when {@code problem} says why not
   * @param problem empty when the body is a review
   */
  record Parsed(AdmissionRequest request, String problem) {}

  static Parsed parse(byte[] body, KubernetesSerialization serialization) {
    JsonNode tree;
    try {
      tree = JSON.readTree(body);
    } catch (JacksonException e) {
      return problem("not JSON: " + InjectionReviews.firstLine(e.getOriginalMessage()));
    }
    if (tree == null || !tree.isObject()) {
      return problem("not a JSON object");
    }
    AdmissionReview review;
    try {
      review = serialization.convertValue(tree, AdmissionReview.class);
    } catch (RuntimeException e) {
      return problem(InjectionReviews.firstLine(e.getMessage()));
    }
    if (!API_VERSION.equals(review.getApiVersion())
        || !"AdmissionReview".equals(review.getKind())) {
      return problem(
          "apiVersion and kind must be "
              + API_VERSION
              + " AdmissionReview, not "
              + review.getApiVersion()
              + " "
              + review.getKind());
    }
    AdmissionRequest request = review.getRequest();
    if (request == null) {
      return problem("request is required");
    }
    if (request.getUid() == null || request.getUid().isBlank()) {
      return problem("request.uid is required");
    }
    return new Parsed(request, "");
  }

  private static Parsed problem(String problem) {
    return new Parsed(null, problem);
  }

  /** The review that carries {@code response}, as JSON. */
  static String answer(AdmissionResponse response, KubernetesSerialization serialization) {
    AdmissionReview review =
        new AdmissionReviewBuilder()
            .withApiVersion(API_VERSION)
            .withKind("AdmissionReview")
            .withResponse(response)
            .build();
    return serialization.asJson(review);
  }
}
