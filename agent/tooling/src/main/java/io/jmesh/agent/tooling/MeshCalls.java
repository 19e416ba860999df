package io.jmesh.agent.tooling;

import io.jmesh.bridge.BridgeCall;
import io.jmesh.bridge.BridgeCalls;
import io.jmesh.bridge.BridgeEndpoint;
import io.jmesh.runtime.Endpoint;
import io.jmesh.runtime.MeshRuntime;
import io.jmesh.runtime.OutboundCall;
import io.jmesh.runtime.OutboundRequest;
import java.util.function.Function;

/**
 * The one adapter from plain request facts to the runtime, shared by every instrumentation: woven
 * helpers reach it through {@link io.jmesh.bridge.MeshBridge#calls()}, agent-side hooks call it
 * directly.
 */
public final class MeshCalls implements BridgeCalls {
  private final MeshRuntime runtime;
  private final AgentContext context;

  MeshCalls(MeshRuntime runtime, AgentContext context) {
    this.runtime = runtime;
    this.context = context;
  }

  /** Whether {@code host:port} is a mesh destination. One hash lookup. */
  public boolean isMeshDestination(String host, int port) {
    return runtime.isMeshDestination(host, port);
  }

  @Override
  public BridgeCall route(
      String scheme,
      String host,
      int port,
      String method,
      String path,
      Function<String, String> headers) {
    if (host == null || !runtime.isMeshDestination(host, port)) {
      return null;
    }
    context.maybeInjectFault("route");
    OutboundCall call = runtime.route(OutboundRequest.of(scheme, host, port, method, path, headers));
    return call == null ? null : new Call(call, port);
  }

  /** A routed call seen through the bridge. */
  static final class Call implements BridgeCall {
    private final OutboundCall call;
    private final int port;

    Call(OutboundCall call, int port) {
      this.call = call;
      this.port = port;
    }

    @Override
    public String authority() {
      return call.authority();
    }

    @Override
    public BridgeEndpoint nextEndpoint() {
      Endpoint e = call.nextEndpoint();
      return e == null ? null : new MeshEndpoint(e);
    }

    @Override
    public String noEndpointMessage() {
      return "jmesh: no endpoint available for "
          + call.destination()
          + ":"
          + port
          + " (route "
          + call.routeName()
          + "); check the mesh config's endpoints and the route's backends";
    }

    @Override
    public void attemptFinished(BridgeEndpoint endpoint, boolean success, long durationNanos) {
      if (endpoint instanceof MeshEndpoint) {
        call.attemptFinished(((MeshEndpoint) endpoint).endpoint, success, durationNanos);
      }
    }
  }
}
