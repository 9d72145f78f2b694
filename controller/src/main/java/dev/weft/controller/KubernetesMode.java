package dev.weft.controller;

import org.springframework.boot.cloud.CloudPlatform;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Condition;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Whether Weft runs in Kubernetes mode: {@code weft.mode=kubernetes}, or {@code auto} inside a
 * cluster. As a condition, it keeps beans that only make sense against an API server (the leader
 * election, status writes, the trust bundle) out of a standalone process.
 */
final class KubernetesMode implements Condition {

  static boolean active(Environment environment) {
    WeftProperties.Mode mode =
        Binder.get(environment)
            .bind("weft.mode", WeftProperties.Mode.class)
            .orElse(WeftProperties.Mode.AUTO);
    return switch (mode) {
      case KUBERNETES -> true;
      case STANDALONE -> false;
      case AUTO -> CloudPlatform.getActive(environment) == CloudPlatform.KUBERNETES;
    };
  }

  /**
   * A webhook's {@code setting} ({@code weft.injection.enabled}, {@code weft.validation.enabled}),
   * or, unset, Kubernetes mode with the CA on: the CA issues a webhook's certificate, and only an
   * API server calls one.
   */
  static boolean webhookOn(Environment environment, String setting) {
    Binder binder = Binder.get(environment);
    return binder
        .bind(setting, Boolean.class)
        .orElseGet(
            () ->
                active(environment) && binder.bind("weft.ca.enabled", Boolean.class).orElse(true));
  }

  @Override
  public boolean matches(ConditionContext context, AnnotatedTypeMetadata metadata) {
    return active(context.getEnvironment());
  }
}
