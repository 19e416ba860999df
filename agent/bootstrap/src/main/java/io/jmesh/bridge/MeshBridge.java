package io.jmesh.bridge;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where woven code finds the runtime. Each hook is {@code null} until the agent installs it; woven
 * code treats {@code null} as "not meshed" and leaves the call alone.
 *
 * <p>Failure contract: woven code catches every {@link Throwable} it or a hook throws, calls
 * {@link #adviceError}, and lets the application's call proceed as if unmeshed.
 */
public final class MeshBridge {
  private static volatile BridgeCalls calls;
  private static volatile JdkHttpClientHook jdkHttpClient;
  private static volatile UrlConnectionHook urlConnection;
  private static volatile ServerBindHook serverBind;

  private static final ConcurrentHashMap<String, AtomicLong> ERRORS = new ConcurrentHashMap<>();

  private MeshBridge() {}

  /** Routing for woven code in application class loaders, or {@code null}. */
  public static BridgeCalls calls() {
    return calls;
  }

  public static JdkHttpClientHook jdkHttpClient() {
    return jdkHttpClient;
  }

  public static UrlConnectionHook urlConnection() {
    return urlConnection;
  }

  /** Inbound capture of the application's server-socket binds, or {@code null}. */
  public static ServerBindHook serverBind() {
    return serverBind;
  }

  public static void install(ServerBindHook hook) {
    serverBind = hook;
  }

  public static void install(BridgeCalls c) {
    calls = c;
  }

  public static void install(JdkHttpClientHook hook) {
    jdkHttpClient = hook;
  }

  public static void install(UrlConnectionHook hook) {
    urlConnection = hook;
  }

  /**
   * Records an error inside the agent at {@code where} (an instrumentation name). The first error
   * of each place is logged with its stack trace; every error is counted. Never throws.
   */
  public static void adviceError(String where, Throwable t) {
    try {
      AtomicLong count = ERRORS.computeIfAbsent(where, k -> new AtomicLong());
      if (count.getAndIncrement() == 0) {
        AgentLog.error(
            where
                + " failed; the application's call goes on unmeshed. Later errors here are"
                + " only counted (jmesh agent errors)",
            t);
      }
    } catch (Throwable ignored) {
      // Logging must never become the application's problem.
    }
  }

  /** What {@link #responseHeadersNotEdited} appends to the place it counts under. */
  public static final String RESPONSE_HEADERS = " response-headers";

  /**
   * Records that the route's response header edits could not be applied at {@code where} (an
   * instrumentation name): the application got the response as the destination sent it. Counted
   * under {@code where + RESPONSE_HEADERS}; the first of each place is logged as one warning.
   * Never throws.
   */
  public static void responseHeadersNotEdited(String where, Throwable t) {
    try {
      AtomicLong count = ERRORS.computeIfAbsent(where + RESPONSE_HEADERS, k -> new AtomicLong());
      if (count.getAndIncrement() == 0) {
        AgentLog.warn(
            where
                + ": the route's response header edits failed; the application gets the response as"
                + " the destination sent it. Later errors here are only counted (jmesh agent errors)",
            t);
      }
    } catch (Throwable ignored) {
      // Logging must never become the application's problem.
    }
  }

  /** Errors counted per place since start, sorted by place. */
  public static Map<String, Long> errorCounts() {
    Map<String, Long> out = new TreeMap<>();
    ERRORS.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }
}
