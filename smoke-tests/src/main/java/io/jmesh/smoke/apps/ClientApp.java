package io.jmesh.smoke.apps;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * An application with no mesh code: calls a URL {@code --count} times with one of the three
 * clients jmesh instruments, and prints one line per call ({@code RESULT <status> <body line>
 * served-by=<x-instance header> edited=<x-edited header>}, OkHttp adds {@code request-url=<its
 * request's URL>}; or
 * {@code ERROR <exception>}), then {@code DONE ok=<n> failed=<n>}. With {@code --print-libs true}
 * it first prints which jar each third-party library it bundles came from, and its version.
 *
 * <p>Usage: {@code ClientApp --client jdk|urlconnection|okhttp --url http://hello:8080/ --count 10
 * [--header x-canary:always] [--method GET|POST] [--async true] [--warmup-url U --wait-stdin true]
 * [--also-url U --also-count N] [--linger true]}
 */
public final class ClientApp {
  private ClientApp() {}

  /** One way of sending a request. */
  interface Client {
    /** Returns {@code status + " " + first body line}. */
    String call(String url, String method, String header) throws Exception;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = HelloServer.parse(args);
    String kind = opts.getOrDefault("client", "jdk");
    String url = opts.get("url");
    int count = Integer.parseInt(opts.getOrDefault("count", "1"));
    String header = opts.get("header");
    String method = opts.getOrDefault("method", "GET");
    boolean async = Boolean.parseBoolean(opts.getOrDefault("async", "false"));
    if (Boolean.parseBoolean(opts.getOrDefault("print-libs", "false"))) {
      printLibs();
    }
    Client client = client(kind, async);
    String warmup = opts.get("warmup-url");
    if (warmup != null) {
      // Load and use the client before the agent arrives (to test a late attach).
      System.out.println("WARMUP " + client.call(warmup, "GET", null));
    }
    if (Boolean.parseBoolean(opts.getOrDefault("wait-stdin", "false"))) {
      System.out.println("WAITING");
      System.out.flush();
      new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    }
    int ok = 0;
    int failed = 0;
    // --also-url U --also-count N: a second batch after the first, in the same JVM.
    String also = opts.get("also-url");
    int alsoCount = Integer.parseInt(opts.getOrDefault("also-count", "0"));
    for (int i = 0; i < count + (also == null ? 0 : alsoCount); i++) {
      try {
        System.out.println("RESULT " + client.call(i < count ? url : also, method, header));
        ok++;
      } catch (Exception e) {
        System.out.println("ERROR " + e);
        failed++;
      }
    }
    System.out.println("DONE ok=" + ok + " failed=" + failed);
    System.out.flush();
    if (Boolean.parseBoolean(opts.getOrDefault("linger", "false"))) {
      // Stay up (with the agent's admin endpoint) until the test sends a line or closes stdin.
      new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    }
    System.exit(0);
  }

  static Client client(String kind, boolean async) {
    switch (kind) {
      case "jdk":
        return new JdkClient(async);
      case "urlconnection":
        return ClientApp::urlConnection;
      case "okhttp":
        return new OkHttpClientAdapter();
      default:
        throw new IllegalArgumentException("--client " + kind + " (expected: jdk, urlconnection or okhttp)");
    }
  }

  /** {@code java.net.http.HttpClient}, one client for all calls. */
  static final class JdkClient implements Client {
    private final HttpClient http =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).version(HttpClient.Version.HTTP_1_1).build();
    private final boolean async;

    JdkClient(boolean async) {
      this.async = async;
    }

    @Override
    public String call(String url, String method, String header) throws Exception {
      HttpRequest.Builder b =
          HttpRequest.newBuilder(URI.create(url))
              .timeout(Duration.ofSeconds(10))
              .method(method, method.equals("GET") ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString("hello"));
      if (header != null) {
        String[] kv = header.split(":", 2);
        b.header(kv[0], kv[1]);
      }
      HttpResponse<String> r =
          async
              ? http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString()).get()
              : http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() + " " + firstLine(r.body()) + heads(r.headers().firstValue("x-instance").orElse(null), r.headers().firstValue("x-edited").orElse(null));
    }
  }

  static String urlConnection(String url, String method, String header) throws IOException {
    HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
    c.setConnectTimeout(5000);
    c.setReadTimeout(10000);
    c.setRequestMethod(method);
    if (header != null) {
      String[] kv = header.split(":", 2);
      c.setRequestProperty(kv[0], kv[1]);
    }
    if (!method.equals("GET")) {
      c.setDoOutput(true);
      c.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
    }
    int status = c.getResponseCode();
    try (InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
      String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
      return status + " " + firstLine(body) + heads(c.getHeaderField("x-instance"), c.getHeaderField("x-edited"));
    }
  }

  /** OkHttp, through its 3.x API (also present in 4.x and 5.x). */
  static final class OkHttpClientAdapter implements Client {
    private final okhttp3.OkHttpClient http = new okhttp3.OkHttpClient();

    @Override
    public String call(String url, String method, String header) throws Exception {
      okhttp3.Request.Builder b = new okhttp3.Request.Builder().url(url);
      if (!method.equals("GET")) {
        b.method(method, okhttp3.RequestBody.create(okhttp3.MediaType.parse("text/plain"), "hello"));
      }
      if (header != null) {
        String[] kv = header.split(":", 2);
        b.header(kv[0], kv[1]);
      }
      try (okhttp3.Response r = http.newCall(b.build()).execute()) {
        return r.code() + " " + firstLine(r.body().string()) + heads(r.header("x-instance"), r.header("x-edited"))
            + " request-url=" + r.request().url();
      }
    }
  }

  /** The two response headers the smoke tests look at, as the application sees them. */
  static String heads(String instance, String edited) {
    return " served-by=" + instance + " edited=" + edited;
  }

  static String firstLine(String body) {
    int nl = body.indexOf('\n');
    return (nl < 0 ? body : body.substring(0, nl)).replaceAll("\\.+$", "");
  }

  /** Prints where each bundled library was loaded from, to prove the agent did not replace it. */
  static void printLibs() {
    for (String name :
        new String[] {"okhttp3.OkHttpClient", "org.yaml.snakeyaml.Yaml", "net.bytebuddy.ByteBuddy", "io.netty.util.Version", "com.google.protobuf.Message"}) {
      try {
        Class<?> c = Class.forName(name);
        Package p = c.getPackage();
        System.out.println(
            "LIB "
                + name
                + " loader="
                + (c.getClassLoader() == ClassLoader.getSystemClassLoader() ? "app" : String.valueOf(c.getClassLoader()))
                + " jar="
                + c.getProtectionDomain().getCodeSource().getLocation().getPath().replaceAll(".*/", ""));
      } catch (ClassNotFoundException e) {
        System.out.println("LIB " + name + " absent");
      }
    }
  }
}
