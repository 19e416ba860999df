package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.smoke.support.Jvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS to a mesh destination: the socket goes to an endpoint while the application's own TLS
 * still verifies the logical host name ({@code hello}) against a certificate issued for it.
 */
class HttpsSmokeTest {
  private static final long MILLIS = 60_000;

  @TempDir static Path dir;

  private static final List<Jvm> servers = new ArrayList<>();
  private static Path config;
  private static Path keystore;

  @BeforeAll
  static void start() throws Exception {
    // A self-signed certificate for the logical name only: connecting by IP would fail to verify.
    keystore = dir.resolve("hello.p12");
    Process keytool =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "hello", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=hello", "-ext", "SAN=dns:hello", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", keystore.toString(),
                "-storepass", "changeit", "-keypass", "changeit")
            .redirectErrorStream(true)
            .start();
    assertThat(keytool.waitFor(MILLIS, TimeUnit.MILLISECONDS)).isTrue();
    assertThat(keytool.exitValue()).as(new String(keytool.getInputStream().readAllBytes())).isZero();

    int a = server("tls-a", "127.0.0.2");
    int b = server("tls-b", "127.0.0.3");
    config = dir.resolve("mesh.yaml");
    Files.writeString(
        config,
        String.join(
            "\n",
            "services:",
            "  - name: hello",
            "    ports: [8443]",
            "    endpoints:",
            "      - {address: 127.0.0.2, port: " + a + "}",
            "      - {address: 127.0.0.3, port: " + b + "}",
            ""));
  }

  private static int server(String name, String ip) throws Exception {
    Jvm s =
        Jvm.builder(name)
            .main("io.jmesh.smoke.apps.HelloServer", "--name", name, "--bind", ip, "--port", "0",
                "--tls-keystore", keystore.toString(), "--tls-password", "changeit")
            .start();
    servers.add(s);
    return s.awaitReady(MILLIS);
  }

  @AfterAll
  static void stop() {
    servers.forEach(Jvm::close);
  }

  private static Map<String, Integer> run(String client, int count) throws Exception {
    Jvm.Builder b =
        Jvm.builder("https-" + client)
            .withAgent()
            .env("JMESH_CONFIG", config.toString())
            .jvmArg("-Djavax.net.ssl.trustStore=" + keystore)
            .jvmArg("-Djavax.net.ssl.trustStorePassword=changeit")
            .main("io.jmesh.smoke.apps.ClientApp", "--client", client, "--url", "https://hello:8443/tls", "--count", String.valueOf(count));
    try (Jvm jvm = b.start()) {
      assertThat(jvm.awaitLine(l -> l.startsWith("DONE "), MILLIS)).as(jvm.output()).isEqualTo("DONE ok=" + count + " failed=0");
      jvm.awaitExit(MILLIS);
      List<String> results = jvm.lines().stream().filter(l -> l.startsWith("RESULT ")).collect(Collectors.toList());
      assertThat(results).allSatisfy(r -> assertThat(r).startsWith("RESULT 200 ").contains(" host=hello:8443 "));
      Map<String, Integer> counts = new TreeMap<>();
      results.forEach(r -> counts.merge(r.replaceAll(".*instance=(\\S+).*", "$1"), 1, Integer::sum));
      return counts;
    }
  }

  @Test
  void jdkHttpClientPicksPerRequestAndVerifiesTheLogicalName() throws Exception {
    // 40 requests at 50/50: both endpoints answer unless a 2^-39 event happens.
    assertThat(run("jdk", 40).keySet()).containsExactly("tls-a", "tls-b");
  }

  @Test
  void httpsUrlConnectionReachesAnEndpointAndVerifiesTheLogicalName() throws Exception {
    // Per connection: the JDK keeps the HTTPS connection by logical URL, so one endpoint may serve all.
    Map<String, Integer> counts = run("urlconnection", 10);
    assertThat(counts.keySet()).isNotEmpty().isSubsetOf("tls-a", "tls-b");
    assertThat(counts.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(10);
  }
}
