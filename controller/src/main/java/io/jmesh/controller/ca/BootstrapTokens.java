package io.jmesh.controller.ca;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.Strictness;
import com.google.gson.ToNumberPolicy;
import com.google.gson.reflect.TypeToken;
import io.jmesh.runtime.identity.SpiffeId;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * File mode's bootstrap credential: a token that proves a namespace and service account to the CA,
 * so that a workload outside Kubernetes can get its first certificate (controller README,
 * "Certificate authority").
 *
 * <p>Form: {@code jmesh1.<payload>.<mac>}, both parts base64url without padding; the payload is the
 * JSON {@code {"ns":"default","sa":"hello","exp":1767225600}} (expiry in epoch seconds), and the
 * MAC is HMAC-SHA256 of {@code jmesh1.<payload>} keyed by the 32-byte secret in {@code
 * bootstrap.key}. Whoever holds that file can mint any identity: it is as secret as the issuer's
 * key. Deleting it (and restarting the controller) voids every token issued.
 *
 * <p>Thread-safety: immutable; {@link #issue} and {@link #authenticate} may be called from any
 * thread.
 */
public final class BootstrapTokens implements WorkloadAuthenticator {
  private static final Logger LOG = System.getLogger("io.jmesh.controller.ca");
  private static final Gson PAYLOAD_GSON =
      new GsonBuilder()
          .setStrictness(Strictness.STRICT)
          .setObjectToNumberStrategy(ToNumberPolicy.LONG_OR_DOUBLE)
          .disableHtmlEscaping()
          .create();
  private static final TypeToken<Map<String, Object>> PAYLOAD_TYPE = new TypeToken<>() {};

  static final String KEY_FILE = "bootstrap.key";
  static final String PREFIX = "jmesh1";
  private static final int KEY_BYTES = 32;
  private static final String HMAC = "HmacSHA256";
  private static final String FORM = "(expected: jmesh1.<payload>.<signature>)";

  private final byte[] key;
  private final String trustDomain;
  private final Clock clock;

  BootstrapTokens(byte[] key, String trustDomain, Clock clock) {
    if (key.length != KEY_BYTES) {
      throw new IllegalArgumentException(
          "key: " + key.length + " bytes (expected: " + KEY_BYTES + ")");
    }
    this.key = key.clone();
    this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * The tokens keyed by {@code dir/bootstrap.key}, made (32 random bytes, readable by its owner
   * only) if it does not exist.
   */
  public static BootstrapTokens loadOrCreate(Path dir, String trustDomain, Clock clock)
      throws IOException {
    Path file = dir.resolve(KEY_FILE);
    if (!Files.exists(file)) {
      byte[] key = new byte[KEY_BYTES];
      new SecureRandom().nextBytes(key);
      Files.createDirectories(dir);
      Pem.writeSecret(file, key);
      LOG.log(Level.INFO, "certificate authority: made a new bootstrap token key " + file);
      return new BootstrapTokens(key, trustDomain, clock);
    }
    return load(dir, trustDomain, clock);
  }

  /**
   * The tokens keyed by {@code dir/bootstrap.key}, which must exist: issuing a token with a key
   * that no controller uses would give a token that proves nothing.
   */
  public static BootstrapTokens load(Path dir, String trustDomain, Clock clock) throws IOException {
    Path file = dir.resolve(KEY_FILE);
    byte[] key;
    try {
      key = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IOException(
          file
              + ": no such file (expected: the CA directory of a controller that has run with"
              + " --ca-dir "
              + dir
              + ")",
          e);
    }
    if (key.length != KEY_BYTES) {
      throw new IOException(
          file + ": " + key.length + " bytes (expected: " + KEY_BYTES + " random bytes)");
    }
    String why = Pem.tooOpen(file);
    if (why != null) {
      LOG.log(Level.WARNING, "certificate authority: " + why + "; chmod 600 it");
    }
    return new BootstrapTokens(key, trustDomain, clock);
  }

  /**
   * A token proving {@code spiffe://<trust domain>/ns/<namespace>/sa/<serviceAccount>} until now +
   * {@code ttl}.
   *
   * @throws IllegalArgumentException naming a bad namespace, service account or ttl
   */
  public String issue(String namespace, String serviceAccount, Duration ttl) {
    SpiffeId.of(trustDomain, namespace, serviceAccount); // the same rules as the CA's
    if (ttl == null || ttl.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("ttl: " + ttl + " (expected: at least 1 second)");
    }
    long exp;
    try {
      exp = clock.instant().plus(ttl).getEpochSecond();
    } catch (ArithmeticException | DateTimeException e) {
      throw new IllegalArgumentException("ttl: " + ttl + " (expected: a date this century)", e);
    }
    // In this field order and without spaces, as tokens were always written.
    JsonObject fields = new JsonObject();
    fields.addProperty("ns", namespace);
    fields.addProperty("sa", serviceAccount);
    fields.addProperty("exp", exp);
    String json = PAYLOAD_GSON.toJson(fields);
    String signed = PREFIX + "." + base64(json.getBytes(StandardCharsets.UTF_8));
    return signed + "." + base64(mac(signed));
  }

  @Override
  public SpiffeId authenticate(String bearerToken) throws AuthenticationException {
    Objects.requireNonNull(bearerToken, "bearerToken");
    String[] parts = bearerToken.split("\\.", -1);
    if (parts.length != 3 || !parts[0].equals(PREFIX)) {
      throw new AuthenticationException("malformed bootstrap token " + FORM);
    }
    byte[] signature;
    byte[] payload;
    try {
      signature = Base64.getUrlDecoder().decode(parts[2]);
      payload = Base64.getUrlDecoder().decode(parts[1]);
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("malformed bootstrap token: not base64url " + FORM);
    }
    // Constant time: a comparison that stops at the first differing byte tells an attacker how
    // many leading bytes of a forged MAC are right.
    if (!MessageDigest.isEqual(signature, mac(parts[0] + "." + parts[1]))) {
      throw new AuthenticationException(
          "bad signature (expected: a token issued with this controller's " + KEY_FILE + ")");
    }
    Map<String, Object> fields;
    try {
      fields = payload(new String(payload, StandardCharsets.UTF_8));
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("malformed bootstrap token payload: " + e.getMessage());
    }
    Object ns = fields.get("ns");
    Object sa = fields.get("sa");
    Object exp = fields.get("exp");
    if (!(ns instanceof String) || !(sa instanceof String) || !(exp instanceof Long)) {
      throw new AuthenticationException(
          "malformed bootstrap token payload: fields "
              + fields.keySet()
              + " (expected: \"ns\" and \"sa\" strings, \"exp\" an integer)");
    }
    Instant expiry = Instant.ofEpochSecond((Long) exp);
    Instant now = clock.instant();
    if (!now.isBefore(expiry)) {
      throw new AuthenticationException("token expired at " + expiry + " (now: " + now + ")");
    }
    try {
      return SpiffeId.of(trustDomain, (String) ns, (String) sa);
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("bootstrap token payload: " + e.getMessage());
    }
  }

  private byte[] mac(String signed) {
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(key, HMAC));
      return mac.doFinal(signed.getBytes(StandardCharsets.US_ASCII));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK has no " + HMAC, e);
    }
  }

  private static String base64(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  @Override
  public String toString() {
    // Never the key.
    return "BootstrapTokens{trustDomain=" + trustDomain + "}";
  }

  /**
   * The payload's fields, read by Gson: a JSON object whose integers are {@link Long}s. Strict
   * (RFC 8259, one document, a field once): the MAC proves that this controller wrote it, so
   * anything else is a bug worth a refusal.
   *
   * @throws IllegalArgumentException saying where the text stops being such an object
   */
  static Map<String, Object> payload(String json) {
    try {
      Map<String, Object> fields = PAYLOAD_GSON.fromJson(json, PAYLOAD_TYPE);
      if (fields == null) {
        throw new IllegalArgumentException("empty (expected: a JSON object)");
      }
      return fields;
    } catch (JsonParseException e) {
      // The reader's own message, not its wrapper's class name; not Gson's troubleshooting link.
      Throwable why = e.getCause() != null ? e.getCause() : e;
      String message = String.valueOf(why.getMessage()).lines().findFirst().orElse("");
      throw new IllegalArgumentException(message + " (expected: a JSON object)", e);
    }
  }
}
