package dev.weft.cluster;

import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.StatusOr;
import io.grpc.internal.DnsNameResolverProvider;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What a cluster's DNS and Service do for the control plane's Service name, in the test JVM: the
 * name the chart puts in bootstraps ({@code weft.weft-system.svc:15010}) resolves to the replicas
 * that are up, in a rotating order, so that each new connection a gRPC client makes (it takes the
 * first address that answers) goes to the next replica, as kube-proxy spreads connections over a
 * Service's endpoints. Every other name is resolved by gRPC's own DNS resolver.
 *
 * <p>Thread-safety: the replica list is replaced whole (volatile); the rotation is atomic.
 */
final class ServiceDns extends NameResolverProvider implements AutoCloseable {

  private final String serviceName;
  private final NameResolverProvider dns = new DnsNameResolverProvider();
  private final AtomicInteger rotation = new AtomicInteger();
  private volatile List<InetSocketAddress> replicas = List.of();

  /** Registers itself for {@code serviceName} ({@code host:port}) in gRPC's default registry. */
  ServiceDns(String serviceName) {
    this.serviceName = serviceName;
    NameResolverRegistry.getDefaultRegistry().register(this);
  }

  /** The replicas a new resolution returns: those that are up, as a Service's endpoints. */
  void replicas(List<InetSocketAddress> addresses) {
    replicas = List.copyOf(addresses);
  }

  @Override
  public NameResolver newNameResolver(URI target, NameResolver.Args args) {
    String name = target.getPath() == null ? "" : target.getPath().replaceFirst("^/", "");
    if (!"dns".equals(target.getScheme()) || !name.equals(serviceName)) {
      return dns.newNameResolver(target, args);
    }
    return new NameResolver() {
      private Listener2 listener;

      @Override
      public String getServiceAuthority() {
        return serviceName;
      }

      @Override
      public void start(Listener2 listener) {
        this.listener = listener;
        resolve();
      }

      @Override
      public void refresh() {
        resolve();
      }

      private void resolve() {
        List<InetSocketAddress> current = replicas;
        int first =
            current.isEmpty() ? 0 : Math.floorMod(rotation.getAndIncrement(), current.size());
        List<EquivalentAddressGroup> addresses = new ArrayList<>();
        for (int i = 0; i < current.size(); i++) {
          addresses.add(new EquivalentAddressGroup(current.get((first + i) % current.size())));
        }
        args.getSynchronizationContext()
            .execute(
                () ->
                    listener.onResult(
                        ResolutionResult.newBuilder()
                            .setAddressesOrError(StatusOr.fromValue(addresses))
                            .build()));
      }

      @Override
      public void shutdown() {}
    };
  }

  @Override
  public String getDefaultScheme() {
    return "dns";
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  /** Above gRPC's DNS resolver (5), so that it answers for the scheme. */
  @Override
  protected int priority() {
    return 6;
  }

  @Override
  public void close() {
    NameResolverRegistry.getDefaultRegistry().deregister(this);
  }
}
