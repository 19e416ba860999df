package io.jmesh.runtime.telemetry;

import io.jmesh.runtime.time.Ticker;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A live copy of every finished call, for whoever listens now: the agent's admin {@code /tap}
 * stream that {@code jmesh tap} reads (Linkerd's tap). One per {@link MeshMetrics}; the runtime
 * publishes outbound calls when they finish (with the path, which no metric carries) and inbound
 * requests when they are answered.
 *
 * <p>Costs nothing while nobody listens: publishers check {@link #active()}, one volatile read of
 * an array, before they build an event. Listeners run on the request's thread, so they must not
 * block (enqueue into a bounded queue and drop when it is full) and should not throw; an exception
 * of a listener is swallowed so that it can never fail a call.
 *
 * <p>Time: events are stamped with wall-clock time read once, when the tap is made, and moved on by
 * the runtime's {@link Ticker} after that (as the tracer's clock is), so that a {@code FakeTicker}
 * moves the stamps in tests and a wall-clock step never reorders two events.
 *
 * <p>Thread-safety: every method may be called from any thread; {@link #subscribe} and closing a
 * subscription copy the array under this object's lock, publishing takes no lock.
 */
public final class MeshTap {
  /** Which way a call went, as seen from this workload. */
  public enum Direction {
    /** A call this workload made. */
    OUTBOUND,
    /** A request this workload's mesh listener served. */
    INBOUND
  }

  /**
   * One finished call. Strings may be null where unknown; see each parameter.
   *
   * @param epochMillis when it finished, wall clock
   * @param direction outbound or inbound
   * @param source the calling service ({@code client.default}); null inbound (see {@code peer})
   * @param destination the called service ({@code hello.default})
   * @param method the HTTP method as sent
   * @param authority outbound: the host (and port) the application addressed; null inbound
   * @param path outbound: the path without the query; null inbound (the listener does not keep it)
   * @param status the status the caller received, 0 for none
   * @param errorType why it failed (as the metrics' {@code error.type}), null when it succeeded
   * @param latencyNanos outbound: routing to finish, all attempts; inbound: arrival to response
   * @param endpoint outbound: {@code host:port} of the last attempt's endpoint, null if none was
   *     picked; null inbound
   * @param route outbound: the route that matched; null inbound
   * @param peer inbound: the caller's proven SPIFFE identity, null for plaintext; null outbound
   * @param attempts outbound: attempts sent; 1 inbound
   */
  public record Event(
      long epochMillis,
      Direction direction,
      String source,
      String destination,
      String method,
      String authority,
      String path,
      int status,
      String errorType,
      long latencyNanos,
      String endpoint,
      String route,
      String peer,
      int attempts) {
    public Event {
      Objects.requireNonNull(direction, "direction");
      Objects.requireNonNull(destination, "destination");
    }
  }

  /** Ends one listener's subscription. Idempotent. */
  public interface Subscription extends AutoCloseable {
    @Override
    void close();
  }

  @SuppressWarnings("unchecked")
  private static final Consumer<Event>[] NONE = new Consumer[0];

  private final Ticker ticker;
  private final long epochMillisAtStart;
  private final long tickerAtStart;
  private volatile Consumer<Event>[] listeners = NONE;

  /** @param epochMillisAtStart the wall-clock time now, which the ticker's readings move on */
  MeshTap(Ticker ticker, long epochMillisAtStart) {
    this.ticker = Objects.requireNonNull(ticker, "ticker");
    this.epochMillisAtStart = epochMillisAtStart;
    this.tickerAtStart = ticker.nanoTime();
  }

  /** Whether anyone listens: check before building an event. */
  public boolean active() {
    return listeners.length != 0;
  }

  /** The wall-clock time events are stamped with, in milliseconds since the epoch. */
  public long nowMillis() {
    return epochMillisAtStart + (ticker.nanoTime() - tickerAtStart) / 1_000_000L;
  }

  /** Hands {@code event} to every listener, on this thread. */
  public void publish(Event event) {
    for (Consumer<Event> listener : listeners) {
      try {
        listener.accept(event);
      } catch (RuntimeException e) {
        // A tap is a diagnostic; the call it observes must not fail because of it.
      }
    }
  }

  /**
   * Adds {@code listener} until the returned subscription is closed. The listener is called on
   * request threads: it must not block.
   */
  public synchronized Subscription subscribe(Consumer<Event> listener) {
    Objects.requireNonNull(listener, "listener");
    Consumer<Event>[] next = Arrays.copyOf(listeners, listeners.length + 1);
    next[next.length - 1] = listener;
    listeners = next;
    return () -> unsubscribe(listener);
  }

  /** How many listeners there are now. */
  public int listenerCount() {
    return listeners.length;
  }

  private synchronized void unsubscribe(Consumer<Event> listener) {
    Consumer<Event>[] current = listeners;
    for (int i = 0; i < current.length; i++) {
      if (current[i] == listener) {
        @SuppressWarnings("unchecked")
        Consumer<Event>[] next = new Consumer[current.length - 1];
        System.arraycopy(current, 0, next, 0, i);
        System.arraycopy(current, i + 1, next, i, current.length - i - 1);
        listeners = next;
        return;
      }
    }
  }
}
