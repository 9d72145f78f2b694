package dev.weft.registry;

/**
 * One port of a Service.
 *
 * @param name the port's name; empty for the single unnamed port a Service may have
 * @param protocol {@code TCP}, {@code UDP} or {@code SCTP}
 * @param appProtocol the application protocol, such as {@code grpc} or {@code http}; empty when
 *     unset
 * @param port the port clients connect to
 * @param targetPort the endpoints' port: a number, or the name of a container port
 */
public record ServicePort(
    String name, String protocol, String appProtocol, int port, String targetPort) {}
