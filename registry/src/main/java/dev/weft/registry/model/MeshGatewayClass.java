package dev.weft.registry.model;

import java.util.Objects;

/**
 * A Gateway API {@code GatewayClass}, decoded: Weft programs the Gateways of the classes whose
 * {@code controllerName} is {@link #WEFT_CONTROLLER}, and leaves every other class to its own
 * controller.
 *
 * @param name the class's name, which Gateways name in {@code gatewayClassName}
 * @param controllerName the controller that implements it
 */
public record MeshGatewayClass(String name, String controllerName) implements GatewayObject {

  /** The {@code controllerName} of the classes Weft implements. */
  public static final String WEFT_CONTROLLER = "weft.dev/gateway-controller";

  public MeshGatewayClass {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(controllerName, "controllerName");
  }

  /** Whether Weft implements the class. */
  public boolean isWeft() {
    return WEFT_CONTROLLER.equals(controllerName);
  }
}
