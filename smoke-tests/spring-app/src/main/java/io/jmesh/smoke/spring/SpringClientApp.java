package io.jmesh.smoke.spring;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.function.Function;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.web.client.RestClient;

/**
 * The benchmark's framework application: a Spring Boot web application (Spring MVC on embedded
 * Tomcat, on a free loopback port) with no mesh code, whose outbound calls go through Spring's
 * {@link RestClient} on the JDK {@link HttpClient} ({@link JdkClientHttpRequestFactory}), a client
 * the agent meshes. It stands for the many services that start thousands of classes before they
 * make their first call.
 *
 * <p>{@code LoadClient --client spring} calls {@link #start} before its first request, so that
 * "start to first answered request" includes Spring's start-up, and then drives the returned call
 * like any other client. The call is safe to use from many threads at once (a {@code RestClient}
 * is).
 */
@SpringBootApplication(proxyBeanMethods = false)
public class SpringClientApp {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration READ_TIMEOUT = Duration.ofSeconds(10);

  /**
   * Starts the application and returns its outbound call: GET the URL, read the whole body, and
   * return the status, or -1 for an empty body (as {@code LoadClient}'s other clients do). Returns a
   * JDK type only, because {@code LoadClient} finds this method by name: it compiles without Spring.
   */
  public static Function<String, Integer> start(String... args) {
    ConfigurableApplicationContext context = SpringApplication.run(SpringClientApp.class, args);
    RestClient client = context.getBean(RestClient.class);
    return url ->
        client
            .get()
            .uri(URI.create(url))
            .exchange(
                (request, response) -> {
                  long total = 0;
                  try (InputStream in = response.getBody()) {
                    byte[] buf = new byte[4096];
                    for (int n; (n = in.read(buf)) >= 0; ) {
                      total += n;
                    }
                  }
                  return total > 0 ? response.getStatusCode().value() : -1;
                });
  }

  /** HTTP/1.1, as the benchmark's plain JDK client, so that the two differ only by Spring. */
  @Bean
  RestClient restClient() {
    HttpClient http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).version(HttpClient.Version.HTTP_1_1).build();
    JdkClientHttpRequestFactory factory = new JdkClientHttpRequestFactory(http);
    factory.setReadTimeout(READ_TIMEOUT);
    return RestClient.builder().requestFactory(factory).build();
  }

  /** Runs the application on its own; it then serves until stopped. */
  public static void main(String[] args) {
    start(args);
  }
}
