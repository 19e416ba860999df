package io.jmesh.runtime.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TraceSettingsTest {
  private static TraceSettings of(Map<String, String> env, Map<String, String> props) {
    return TraceSettings.from(env::get, props::get, "hello");
  }

  @Test
  void offUntilAnExporterOrEndpointIsSet() {
    assertThat(of(Map.of(), Map.of()).enabled()).isFalse();
    assertThat(of(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"), Map.of()).enabled()).isTrue();
    assertThat(of(Map.of("OTEL_TRACES_EXPORTER", "otlp"), Map.of()).endpoint()).hasToString("http://localhost:4317");
    assertThat(of(Map.of("OTEL_TRACES_EXPORTER", "none", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"), Map.of()).enabled())
        .isFalse();
    assertThat(of(Map.of("OTEL_SDK_DISABLED", "true", "OTEL_TRACES_EXPORTER", "otlp"), Map.of()).enabled()).isFalse();
  }

  @Test
  void theTracesEndpointWinsAndSystemPropertiesWinOverTheEnvironment() {
    TraceSettings s =
        of(
            Map.of(
                "OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4317",
                "OTEL_SERVICE_NAME", "from-env"),
            Map.of("otel.service.name", "from-property", "otel.bsp.schedule.delay", "200"));

    assertThat(s.endpoint()).hasToString("http://b:4317");
    assertThat(s.serviceName()).isEqualTo("from-property");
    assertThat(s.scheduleDelay()).isEqualTo(Duration.ofMillis(200));
  }

  @Test
  void theServiceNameDefaultsToTheMeshServiceAndResourceAttributesAreRead() {
    TraceSettings s =
        of(Map.of("OTEL_TRACES_EXPORTER", "otlp", "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,team=a%20b"), Map.of());

    assertThat(s.serviceName()).isEqualTo("hello");
    assertThat(s.resourceAttributes()).containsEntry("deployment.environment", "prod").containsEntry("team", "a b");
  }

  @Test
  void refusesWhatItCannotHonourNamingTheSettingAndTheValue() {
    TraceSettings http =
        of(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"), Map.of());
    assertThat(http.enabled()).isFalse();
    assertThat(http.problems()).singleElement().asString().contains("OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf (expected: grpc");

    TraceSettings sampler =
        of(Map.of("OTEL_TRACES_EXPORTER", "otlp", "OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "2"), Map.of());
    assertThat(sampler.samplerArg()).isEqualTo(1.0);
    assertThat(sampler.problems()).singleElement().asString().contains("OTEL_TRACES_SAMPLER_ARG: 2 (expected: a ratio from 0 to 1)");
  }

  @Test
  void b3IsWrittenOnEveryRequestWhenThePropagatorsNameIt() {
    assertThat(of(Map.of("OTEL_PROPAGATORS", "tracecontext,baggage"), Map.of()).b3()).isEqualTo(TraceHeaders.B3Style.NONE);
    assertThat(of(Map.of("OTEL_PROPAGATORS", "tracecontext,b3"), Map.of()).b3()).isEqualTo(TraceHeaders.B3Style.SINGLE);
    assertThat(of(Map.of("OTEL_PROPAGATORS", "b3multi"), Map.of()).b3()).isEqualTo(TraceHeaders.B3Style.MULTI);
  }
}
