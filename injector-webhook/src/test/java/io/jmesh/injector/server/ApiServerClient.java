package io.jmesh.injector.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Calls the webhook as the API server does: HTTPS, the server's certificate verified against the
 * caBundle (and its name), AdmissionReview JSON over POST; plus a raw TLS socket for inputs no
 * well-behaved client sends.
 */
final class ApiServerClient {
  private final SSLContext context;
  private final int port;
  private final HttpClient client;

  ApiServerClient(SSLContext context, int port, HttpClient.Version version) {
    this.context = context;
    this.port = port;
    this.client =
        HttpClient.newBuilder()
            .sslContext(context)
            .version(version)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
  }

  HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(URI.create("https://localhost:" + port + path + "?timeout=10s"))
            .timeout(Duration.ofSeconds(20))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(URI.create("https://localhost:" + port + path))
            .timeout(Duration.ofSeconds(20))
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A TLS socket to the server, handshake done, name verified; reads time out after 20 s. */
  SSLSocket socket() throws IOException {
    SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("localhost", port);
    SSLParameters parameters = socket.getSSLParameters();
    parameters.setEndpointIdentificationAlgorithm("HTTPS");
    socket.setSSLParameters(parameters);
    socket.setSoTimeout(20_000);
    socket.startHandshake();
    return socket;
  }

  /** Sends {@code request} raw and reads until the server closes the connection. */
  String raw(String request) throws IOException {
    try (SSLSocket socket = socket()) {
      socket.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
      socket.getOutputStream().flush();
      return readToEnd(socket.getInputStream());
    }
  }

  static String readToEnd(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        out.write(buffer, 0, n);
      }
    } catch (javax.net.ssl.SSLException e) {
      // A peer that closes without close_notify after its answer: what was read stands.
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  /** One HTTP/1.1 response read from a keep-alive connection: head and a Content-Length body. */
  static String readResponse(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      head.write(b);
      String text = head.toString(StandardCharsets.US_ASCII);
      if (text.endsWith("\r\n\r\n")) {
        int length = 0;
        for (String line : text.split("\r\n")) {
          if (line.toLowerCase().startsWith("content-length:")) {
            length = Integer.parseInt(line.substring(15).trim());
          }
        }
        return text + new String(in.readNBytes(length), StandardCharsets.UTF_8);
      }
    }
    throw new IOException("connection closed before a response head: " + head);
  }
}
