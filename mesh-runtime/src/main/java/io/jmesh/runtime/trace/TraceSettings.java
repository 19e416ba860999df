package io.jmesh.runtime.trace;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The tracing settings jmesh honours, read from the standard OpenTelemetry variables ({@code
 * OTEL_*}, or the system property of the same name in {@code otel.*} form, which wins, as in
 * OpenTelemetry's own autoconfiguration). The same variables configure an OpenTelemetry Java agent
 * in the same JVM, so both export to one collector. Unlike the OpenTelemetry SDK, jmesh exports
 * only when asked to: {@code OTEL_TRACES_EXPORTER=otlp} or an OTLP endpoint is set.
 *
 * @param enabled whether spans are made and exported
 * @param endpoint the OTLP/gRPC endpoint ({@code http://host:4317}, or {@code https://})
 * @param headers extra gRPC metadata sent with each export ({@code OTEL_EXPORTER_OTLP_HEADERS})
 * @param timeout the export's deadline
 * @param serviceName the resource's {@code service.name}
 * @param resourceAttributes other resource attributes ({@code OTEL_RESOURCE_ATTRIBUTES})
 * @param sampler the sampler's name, as in {@code OTEL_TRACES_SAMPLER}
 * @param samplerArg its argument (the ratio of {@code traceidratio} samplers)
 * @param b3 the B3 forms written on every request ({@code OTEL_PROPAGATORS} with {@code b3} or
 *     {@code b3multi}); B3 is also written whenever the incoming request carried it
 * @param scheduleDelay how long finished spans wait before a batch is exported
 * @param problems one line per setting that was refused, naming it, its value and what is expected
 */
public record TraceSettings(
    boolean enabled,
    URI endpoint,
    Map<String, String> headers,
    Duration timeout,
    String serviceName,
    Map<String, String> resourceAttributes,
    String sampler,
    double samplerArg,
    TraceHeaders.B3Style b3,
    Duration scheduleDelay,
    List<String> problems) {

  static final String DEFAULT_ENDPOINT = "http://localhost:4317";

  public TraceSettings {
    Objects.requireNonNull(serviceName, "serviceName");
    headers = Map.copyOf(headers);
    resourceAttributes = Map.copyOf(resourceAttributes);
    problems = List.copyOf(problems);
  }

  /** Tracing off. */
  public static TraceSettings disabled() {
    return new TraceSettings(
        false, URI.create(DEFAULT_ENDPOINT), Map.of(), Duration.ofSeconds(10), "unknown_service", Map.of(),
        "parentbased_always_on", 1.0, TraceHeaders.B3Style.NONE, Duration.ofSeconds(5), List.of());
  }

  /** From this JVM's environment and system properties. */
  public static TraceSettings fromSystem(String defaultServiceName) {
    return from(System::getenv, System::getProperty, defaultServiceName);
  }

  /**
   * From {@code env} (names like {@code OTEL_SERVICE_NAME}) and {@code properties} (names like
   * {@code otel.service.name}), the property winning.
   *
   * @param defaultServiceName {@code service.name} when {@code OTEL_SERVICE_NAME} is not set: the
   *     workload's mesh service
   */
  public static TraceSettings from(
      Function<String, String> env, Function<String, String> properties, String defaultServiceName) {
    Function<String, String> get =
        name -> {
          String p = properties.apply(name.toLowerCase(Locale.ROOT).replace('_', '.'));
          String v = p != null ? p : env.apply(name);
          return v == null || v.isBlank() ? null : v.trim();
        };
    List<String> problems = new ArrayList<>();

    String exporter = get.apply("OTEL_TRACES_EXPORTER");
    String endpointValue = get.apply("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    if (endpointValue == null) {
      endpointValue = get.apply("OTEL_EXPORTER_OTLP_ENDPOINT");
    }
    boolean enabled;
    if (exporter == null) {
      enabled = endpointValue != null;
    } else {
      String e = exporter.toLowerCase(Locale.ROOT);
      enabled = e.equals("otlp");
      if (!e.equals("otlp") && !e.equals("none")) {
        problems.add("OTEL_TRACES_EXPORTER: " + exporter + " (expected: otlp or none); jmesh exports no traces");
      }
    }
    if ("true".equalsIgnoreCase(get.apply("OTEL_SDK_DISABLED"))) {
      enabled = false;
    }

    String protocol = get.apply("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
    if (protocol == null) {
      protocol = get.apply("OTEL_EXPORTER_OTLP_PROTOCOL");
    }
    if (enabled && protocol != null && !protocol.equalsIgnoreCase("grpc")) {
      problems.add(
          "OTEL_EXPORTER_OTLP_PROTOCOL: " + protocol + " (expected: grpc, the only protocol jmesh's"
              + " exporter speaks); jmesh exports no traces");
      enabled = false;
    }

    URI endpoint = URI.create(DEFAULT_ENDPOINT);
    if (endpointValue != null) {
      try {
        URI u = URI.create(endpointValue);
        if (u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme()))) {
          throw new IllegalArgumentException("no http(s) scheme or host");
        }
        endpoint = u;
      } catch (IllegalArgumentException e) {
        problems.add(
            "OTEL_EXPORTER_OTLP_ENDPOINT: " + endpointValue + " (expected: http://host:port or"
                + " https://host:port); jmesh exports no traces");
        enabled = false;
      }
    }

    Map<String, String> headers = pairs(get, "OTEL_EXPORTER_OTLP_HEADERS", problems);
    headers.putAll(pairs(get, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", problems));
    Duration timeout =
        millis(get, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", millis(get, "OTEL_EXPORTER_OTLP_TIMEOUT", Duration.ofSeconds(10), problems), problems);
    Duration delay = millis(get, "OTEL_BSP_SCHEDULE_DELAY", Duration.ofSeconds(5), problems);

    Map<String, String> resource = pairs(get, "OTEL_RESOURCE_ATTRIBUTES", problems);
    String service = get.apply("OTEL_SERVICE_NAME");
    if (service == null) {
      service = resource.containsKey("service.name") ? resource.get("service.name") : defaultServiceName;
    }
    resource.remove("service.name");

    String sampler = get.apply("OTEL_TRACES_SAMPLER");
    sampler = sampler == null ? "parentbased_always_on" : sampler.toLowerCase(Locale.ROOT);
    double arg = 1.0;
    List<String> known =
        List.of("always_on", "always_off", "traceidratio", "parentbased_always_on",
            "parentbased_always_off", "parentbased_traceidratio");
    if (!known.contains(sampler)) {
      problems.add("OTEL_TRACES_SAMPLER: " + sampler + " (expected: one of " + known + "); using parentbased_always_on");
      sampler = "parentbased_always_on";
    }
    String argValue = get.apply("OTEL_TRACES_SAMPLER_ARG");
    if (sampler.endsWith("traceidratio") && argValue != null) {
      try {
        arg = Double.parseDouble(argValue);
        if (!(arg >= 0 && arg <= 1)) {
          throw new NumberFormatException();
        }
      } catch (NumberFormatException e) {
        problems.add("OTEL_TRACES_SAMPLER_ARG: " + argValue + " (expected: a ratio from 0 to 1); using 1.0");
        arg = 1.0;
      }
    }

    TraceHeaders.B3Style b3 = TraceHeaders.B3Style.NONE;
    String propagators = get.apply("OTEL_PROPAGATORS");
    if (propagators != null) {
      for (String p : propagators.split(",")) {
        switch (p.trim().toLowerCase(Locale.ROOT)) {
          case "b3" -> b3 = b3.plus(TraceHeaders.B3Style.SINGLE);
          case "b3multi" -> b3 = b3.plus(TraceHeaders.B3Style.MULTI);
          default -> {} // tracecontext is always on; baggage and others pass through untouched
        }
      }
    }
    return new TraceSettings(
        enabled, endpoint, headers, timeout, service, resource, sampler, arg, b3, delay, problems);
  }

  /** {@code key=value,key2=value2}, values URL-decoded as the specification asks. */
  private static Map<String, String> pairs(Function<String, String> get, String name, List<String> problems) {
    Map<String, String> out = new LinkedHashMap<>();
    String value = get.apply(name);
    if (value == null) {
      return out;
    }
    for (String item : value.split(",")) {
      int eq = item.indexOf('=');
      if (eq <= 0) {
        problems.add(name + ": " + item.trim() + " (expected: key=value); ignored");
        continue;
      }
      out.put(
          item.substring(0, eq).trim(),
          java.net.URLDecoder.decode(item.substring(eq + 1).trim(), java.nio.charset.StandardCharsets.UTF_8));
    }
    return out;
  }

  private static Duration millis(Function<String, String> get, String name, Duration dflt, List<String> problems) {
    String value = get.apply(name);
    if (value == null) {
      return dflt;
    }
    try {
      long ms = Long.parseLong(value);
      if (ms < 0) {
        throw new NumberFormatException();
      }
      return Duration.ofMillis(ms);
    } catch (NumberFormatException e) {
      problems.add(name + ": " + value + " (expected: milliseconds >= 0); using " + dflt.toMillis());
      return dflt;
    }
  }
}
