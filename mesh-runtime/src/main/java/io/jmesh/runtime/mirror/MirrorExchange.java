package io.jmesh.runtime.mirror;

import io.jmesh.runtime.Endpoint;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.FullHttpRequest;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/**
 * One copy on its way: what it is, where it goes, and whether it has ended. Created on the
 * caller's thread and handed to the sender's loop, which alone touches the mutable fields.
 */
final class MirrorExchange {
  final MirrorSender.Target target;
  final Endpoint endpoint;
  final SSLContext context; // null: plaintext
  final FullHttpRequest request; // released by the codec once written
  final long startNanos;
  final AtomicInteger inFlight; // the destination's count, given back at the end
  Future<?> timeout;
  Channel channel; // null until connected
  boolean done;

  MirrorExchange(
      MirrorSender.Target target,
      Endpoint endpoint,
      SSLContext context,
      FullHttpRequest request,
      long startNanos,
      AtomicInteger inFlight) {
    this.target = target;
    this.endpoint = endpoint;
    this.context = context;
    this.request = request;
    this.startNanos = startNanos;
    this.inFlight = inFlight;
  }
}
