package dev.weft.registry.model;

/**
 * What a Gateway's Envoy is built from besides routes: its {@link MeshGateway}, the {@link
 * MeshGatewayClass} that says whether it is Weft's, and the {@link TlsCredential}s its HTTPS
 * listeners serve.
 */
public sealed interface GatewayObject permits MeshGateway, MeshGatewayClass, TlsCredential {}
