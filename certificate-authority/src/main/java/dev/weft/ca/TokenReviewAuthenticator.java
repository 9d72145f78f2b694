package dev.weft.ca;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.List;

/**
 * Checks a ServiceAccount token with the API server's TokenReview. Stateless; every call asks the
 * API server (a cache keyed by token hash is a later optimisation: renewals come at half-life, so
 * the rate is one review per workload per half hour).
 */
final class TokenReviewAuthenticator implements Authenticator {

  static final String SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

  private final KubernetesClient client;
  private final List<String> audiences;

  TokenReviewAuthenticator(KubernetesClient client, List<String> audiences) {
    this.client = client;
    this.audiences = List.copyOf(audiences);
  }

  @Override
  public AuthResult authenticate(CallerCredentials credentials) {
    if (credentials.bearerToken().isEmpty()) {
      return AuthResult.notPresented();
    }
    TokenReview review =
        new TokenReviewBuilder()
            .withNewSpec()
            .withToken(credentials.bearerToken().get())
            .withAudiences(audiences.isEmpty() ? null : audiences)
            .endSpec()
            .build();
    TokenReviewStatus status;
    try {
      status = client.authentication().v1().tokenReviews().create(review).getStatus();
    } catch (KubernetesClientException e) {
      return new AuthResult.Unavailable(
          "the token cannot be reviewed now (" + e.getMessage() + "); retry");
    }
    if (status == null || !Boolean.TRUE.equals(status.getAuthenticated())) {
      String why = status == null || status.getError() == null ? "" : ": " + status.getError();
      return new AuthResult.Refused("token", "not accepted by the Kubernetes API server" + why);
    }
    if (!audiences.isEmpty()
        && (status.getAudiences() == null
            || status.getAudiences().stream().noneMatch(audiences::contains))) {
      return new AuthResult.Refused("token", "is not bound to the audience " + audiences);
    }
    String user = status.getUser() == null ? "" : status.getUser().getUsername();
    String[] parts =
        user.startsWith(SERVICE_ACCOUNT_PREFIX)
            ? user.substring(SERVICE_ACCOUNT_PREFIX.length()).split(":", -1)
            : new String[0];
    if (parts.length != 2) {
      return new AuthResult.Refused(
          "token", "belongs to '" + user + "', not to a Kubernetes ServiceAccount");
    }
    try {
      return new AuthResult.Authenticated(new WorkloadIdentity(parts[0], parts[1]));
    } catch (IllegalArgumentException e) {
      return new AuthResult.Refused("token", e.getMessage());
    }
  }
}
