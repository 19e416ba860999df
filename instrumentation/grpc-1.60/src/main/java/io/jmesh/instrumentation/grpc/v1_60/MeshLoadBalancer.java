package io.jmesh.instrumentation.grpc.v1_60;

import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.Status;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The load balancing policy of meshed channels: one subchannel per endpoint the resolver reports
 * (connected when a pick first chooses it, and again after it goes idle), and a picker that sends
 * every attempt to the endpoint the runtime's call driver chose for it (peak-EWMA, ejection,
 * failover; see {@link AttemptPick#pick}).
 *
 * <p>Threading, as gRPC's contract says: everything but the picker runs in the channel's
 * synchronization context; pickers are immutable snapshots of the subchannels' states and never
 * block; a picker asks for a connection by queueing a task on the synchronization context.
 */
final class MeshLoadBalancer extends LoadBalancer {
  private final Helper helper;
  private final Map<InetSocketAddress, Sub> subs = new LinkedHashMap<>();
  private boolean shutdown;

  MeshLoadBalancer(Helper helper) {
    this.helper = helper;
  }

  /** One endpoint's subchannel and its last state. Synchronization context only. */
  static final class Sub {
    final Subchannel subchannel;
    ConnectivityState state = ConnectivityState.IDLE; // not asked to connect until a pick wants it

    Sub(Subchannel subchannel) {
      this.subchannel = subchannel;
    }
  }

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolved) {
    Set<InetSocketAddress> wanted = new HashSet<>();
    for (EquivalentAddressGroup group : resolved.getAddresses()) {
      for (SocketAddress a : group.getAddresses()) {
        if (a instanceof InetSocketAddress) {
          wanted.add((InetSocketAddress) a);
        }
      }
    }
    for (Iterator<Map.Entry<InetSocketAddress, Sub>> it = subs.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<InetSocketAddress, Sub> e = it.next();
      if (!wanted.contains(e.getKey())) {
        e.getValue().subchannel.shutdown();
        it.remove();
      }
    }
    for (InetSocketAddress a : wanted) {
      if (!subs.containsKey(a)) {
        create(a);
      }
    }
    publish();
    return Status.OK;
  }

  @Override
  public boolean canHandleEmptyAddressListFromNameResolution() {
    return true; // a destination without endpoints: the runtime's pick says so, naming the route
  }

  @Override
  public void handleNameResolutionError(Status error) {
    if (subs.isEmpty()) {
      helper.updateBalancingState(ConnectivityState.TRANSIENT_FAILURE, new ErrorPicker(error));
    }
    // Otherwise keep the subchannels that answer (config fails safe).
  }

  @Override
  public void requestConnection() {
    // Nothing up front: a connection is made when an RPC's pick chooses its endpoint, after the
    // pick has checked that the channel can give it mesh TLS where the destination requires it.
    // Connecting every endpoint eagerly would open plaintext connections to mesh-TLS ports from
    // a channel that has no TLS (it sends the HTTP/2 preface before any RPC could be refused).
  }

  @Override
  public void shutdown() {
    shutdown = true;
    for (Sub s : subs.values()) {
      s.subchannel.shutdown();
    }
    subs.clear();
  }

  private Sub create(InetSocketAddress address) {
    Subchannel sc =
        helper.createSubchannel(
            CreateSubchannelArgs.newBuilder().setAddresses(new EquivalentAddressGroup(address)).build());
    Sub sub = new Sub(sc);
    subs.put(address, sub);
    sc.start(info -> onState(address, sub, info)); // connected on demand: see requestConnection
    return sub;
  }

  private void onState(InetSocketAddress address, Sub sub, ConnectivityStateInfo info) {
    if (shutdown || subs.get(address) != sub || info.getState() == ConnectivityState.SHUTDOWN) {
      return;
    }
    sub.state = info.getState();
    if (sub.state == ConnectivityState.IDLE) {
      // The connection went away (server stopped, GOAWAY, idle timeout): the next pick of this
      // endpoint reconnects it (after its mesh-TLS check), or learns that it cannot.
      helper.refreshNameResolution();
    } else if (sub.state == ConnectivityState.TRANSIENT_FAILURE) {
      helper.refreshNameResolution();
    }
    publish();
  }

  /** A picker asked for {@code address}: create its subchannel or wake it. */
  private void connect(InetSocketAddress address) {
    helper
        .getSynchronizationContext()
        .execute(
            () -> {
              if (shutdown) {
                return;
              }
              Sub s = subs.get(address);
              if (s == null) {
                // The runtime knows an endpoint the last resolution did not (a config change).
                create(address).subchannel.requestConnection();
                helper.refreshNameResolution();
                publish();
              } else if (s.state == ConnectivityState.IDLE) {
                s.subchannel.requestConnection();
              }
            });
  }

  private void publish() {
    boolean ready = false;
    boolean connecting = false;
    Map<InetSocketAddress, ConnectivityState> states = new HashMap<>();
    Map<InetSocketAddress, Subchannel> channels = new HashMap<>();
    for (Map.Entry<InetSocketAddress, Sub> e : subs.entrySet()) {
      ConnectivityState s = e.getValue().state;
      states.put(e.getKey(), s);
      channels.put(e.getKey(), e.getValue().subchannel);
      ready |= s == ConnectivityState.READY;
      connecting |= s == ConnectivityState.CONNECTING || s == ConnectivityState.IDLE;
    }
    ConnectivityState overall =
        ready
            ? ConnectivityState.READY
            : connecting ? ConnectivityState.CONNECTING : ConnectivityState.TRANSIENT_FAILURE;
    helper.updateBalancingState(overall, new MeshPicker(this, states, channels));
  }

  /**
   * Hands each attempt's pick to its {@link AttemptPick}. Immutable. An RPC that carries none (the
   * agent failed to route it) goes to a ready subchannel in turn, as if unmeshed.
   */
  static final class MeshPicker extends SubchannelPicker {
    private final MeshLoadBalancer balancer;
    private final Map<InetSocketAddress, ConnectivityState> states;
    private final Map<InetSocketAddress, Subchannel> channels;
    private final List<Subchannel> ready = new ArrayList<>();
    private final AtomicInteger next = new AtomicInteger();

    MeshPicker(
        MeshLoadBalancer balancer,
        Map<InetSocketAddress, ConnectivityState> states,
        Map<InetSocketAddress, Subchannel> channels) {
      this.balancer = balancer;
      this.states = states;
      this.channels = channels;
      states.forEach(
          (a, s) -> {
            if (s == ConnectivityState.READY) {
              ready.add(channels.get(a));
            }
          });
    }

    @Override
    public PickResult pickSubchannel(PickSubchannelArgs args) {
      AttemptPick pick = args.getCallOptions().getOption(AttemptPick.KEY);
      if (pick != null) {
        return pick.pick(this);
      }
      if (ready.isEmpty()) {
        return PickResult.withNoResult();
      }
      return PickResult.withSubchannel(ready.get(Math.floorMod(next.getAndIncrement(), ready.size())));
    }

    ConnectivityState state(InetSocketAddress address) {
      return states.get(address);
    }

    Subchannel subchannel(InetSocketAddress address) {
      return channels.get(address);
    }

    void connect(InetSocketAddress address) {
      balancer.connect(address);
    }
  }

  /** Fails every RPC with the resolver's error while there is no subchannel at all. */
  static final class ErrorPicker extends SubchannelPicker {
    private final Status error;

    ErrorPicker(Status error) {
      this.error = error;
    }

    @Override
    public PickResult pickSubchannel(PickSubchannelArgs args) {
      return PickResult.withError(error);
    }
  }
}
