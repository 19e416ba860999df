package io.jmesh.smoke.apps;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * A pod's application, as a Deployment would run it: serves HTTP on {@code --bind} (default
 * {@code 0.0.0.0}) {@code --port}, answering one line naming {@code --name} and the caller's
 * {@code x-jmesh-client-id}; prints {@code READY <port>}; then calls {@code --call} {@code --count}
 * times, one after another, with {@code HttpURLConnection}, printing {@code RESULT <status> <body>}
 * or {@code ERROR <exception>} for each and {@code DONE ok=<n> failed=<n>}; it keeps serving after
 * that. First it prints {@code PROPERTY workload.pod=<value> literal=<value>}, the system
 * properties a pod's {@code JAVA_TOOL_OPTIONS} may set, so that a test sees what the JVM was given.
 */
public final class PodWorkload {
  private PodWorkload() {}

  public static void main(String[] args) throws IOException {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      opts.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    String name = opts.getOrDefault("name", "workload");
    HttpServer server = HttpServer.create(
        new InetSocketAddress(opts.getOrDefault("bind", "0.0.0.0"), Integer.parseInt(opts.get("port"))), 64);
    server.createContext("/", exchange -> {
      exchange.getRequestBody().readAllBytes();
      byte[] body = ("server=" + name + " client=" + exchange.getRequestHeaders().getFirst("x-jmesh-client-id"))
          .getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    System.out.println("PROPERTY workload.pod=" + System.getProperty("workload.pod")
        + " literal=" + System.getProperty("workload.literal"));
    System.out.println("READY " + server.getAddress().getPort());
    int count = Integer.parseInt(opts.getOrDefault("count", "0"));
    int ok = 0;
    for (int i = 0; i < count; i++) {
      try {
        HttpURLConnection c = (HttpURLConnection) URI.create(opts.get("call")).toURL().openConnection();
        c.setConnectTimeout(10_000);
        c.setReadTimeout(20_000);
        int status = c.getResponseCode();
        try (InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
          String body = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
          System.out.println("RESULT " + status + " " + body);
        }
        ok += status == 200 ? 1 : 0;
      } catch (IOException | RuntimeException e) {
        System.out.println("ERROR " + e);
      }
    }
    System.out.println("DONE ok=" + ok + " failed=" + (count - ok));
    System.out.flush();
  }
}
