package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;

/** The policy meshed channels use by default; registered once per class loader holding gRPC. */
final class MeshLoadBalancerProvider extends LoadBalancerProvider {
  static final String POLICY = "jmesh_mesh";

  @Override
  public boolean isAvailable() {
    return true;
  }

  @Override
  public int getPriority() {
    return 5;
  }

  @Override
  public String getPolicyName() {
    return POLICY;
  }

  @Override
  public LoadBalancer newLoadBalancer(LoadBalancer.Helper helper) {
    return new MeshLoadBalancer(helper);
  }
}
