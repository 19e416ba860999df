package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import java.net.URI;

/**
 * Resolves one meshed channel's target through the runtime. Given to that channel alone (its
 * builder's {@code nameResolverFactory}), under the scheme the target uses, so it is never
 * registered globally.
 */
final class MeshNameResolverProvider extends NameResolverProvider {
  private final String scheme;
  private final String host;
  private final int port;

  MeshNameResolverProvider(String scheme, String host, int port) {
    this.scheme = scheme;
    this.host = host;
    this.port = port;
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return 5;
  }

  @Override
  public String getDefaultScheme() {
    return scheme;
  }

  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    return new MeshNameResolver(host, port, args.getSynchronizationContext());
  }
}
