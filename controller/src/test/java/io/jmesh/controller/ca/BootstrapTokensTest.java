package io.jmesh.controller.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.runtime.identity.SpiffeId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootstrapTokensTest {
  private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");
  private static final byte[] KEY = new byte[32];

  static {
    Arrays.fill(KEY, (byte) 7);
  }

  @TempDir Path tmp;

  private static BootstrapTokens at(Instant now) {
    return new BootstrapTokens(KEY, "cluster.local", Clock.fixed(now, ZoneOffset.UTC));
  }

  @Test
  void aTokenProvesItsIdentityUntilItExpires() throws Exception {
    String token = at(NOW).issue("default", "hello", Duration.ofHours(1));

    assertThat(token).matches("jmesh1\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+");
    assertThat(
            new String(
                Base64.getUrlDecoder().decode(token.split("\\.")[1]), StandardCharsets.UTF_8))
        .isEqualTo("{\"ns\":\"default\",\"sa\":\"hello\",\"exp\":1796122800}");
    assertThat(at(NOW.plus(Duration.ofMinutes(59))).authenticate(token))
        .isEqualTo(SpiffeId.of("cluster.local", "default", "hello"));
  }

  @Test
  void anExpiredTokenIsRefused() throws Exception {
    String token = at(NOW).issue("default", "hello", Duration.ofHours(1));

    assertThatThrownBy(() -> at(NOW.plus(Duration.ofHours(1))).authenticate(token))
        .isInstanceOf(AuthenticationException.class)
        .hasMessage("token expired at 2026-12-01T11:00:00Z (now: 2026-12-01T11:00:00Z)");
  }

  @Test
  void aTamperedPayloadOrSignatureIsRefused() throws Exception {
    String token = at(NOW).issue("default", "hello", Duration.ofHours(1));
    String[] parts = token.split("\\.");
    String admin =
        Base64.getUrlEncoder()
            .withoutPadding()
            .encodeToString(
                "{\"ns\":\"default\",\"sa\":\"admin\",\"exp\":1796122800}"
                    .getBytes(StandardCharsets.UTF_8));
    String badSignature =
        "bad signature (expected: a token issued with this controller's bootstrap.key)";

    // Another identity with the original signature.
    assertThatThrownBy(() -> at(NOW).authenticate(parts[0] + "." + admin + "." + parts[2]))
        .hasMessage(badSignature);
    // The original identity with one character of the signature changed.
    char last = parts[2].charAt(parts[2].length() - 2);
    String flipped =
        parts[2].substring(0, parts[2].length() - 2)
            + (last == 'A' ? 'B' : 'A')
            + parts[2].charAt(parts[2].length() - 1);
    assertThatThrownBy(() -> at(NOW).authenticate(parts[0] + "." + parts[1] + "." + flipped))
        .hasMessage(badSignature);
  }

  @Test
  void aTokenOfAnotherKeyIsRefused() {
    byte[] other = KEY.clone();
    other[0] = 8;
    String token =
        new BootstrapTokens(other, "cluster.local", Clock.fixed(NOW, ZoneOffset.UTC))
            .issue("default", "hello", Duration.ofHours(1));

    assertThatThrownBy(() -> at(NOW).authenticate(token))
        .hasMessage(
            "bad signature (expected: a token issued with this controller's bootstrap.key)");
  }

  @Test
  void malformedTokensAreRefusedWithTheExpectedForm() {
    String form = "(expected: jmesh1.<payload>.<signature>)";
    for (String token : new String[] {"", "abc", "jmesh2.a.b", "jmesh1.a", "jmesh1.a.b.c"}) {
      assertThatThrownBy(() -> at(NOW).authenticate(token))
          .as(token)
          .hasMessage("malformed bootstrap token " + form);
    }
    assertThatThrownBy(() -> at(NOW).authenticate("jmesh1.a*b.c"))
        .hasMessage("malformed bootstrap token: not base64url " + form);
  }

  @Test
  void issuingChecksTheNamesAndTheTtl() {
    assertThatThrownBy(() -> at(NOW).issue("default", "hello world", Duration.ofHours(1)))
        .hasMessageStartingWith("service account: \"hello world\" (expected: ");
    assertThatThrownBy(() -> at(NOW).issue("default", "hello", Duration.ZERO))
        .hasMessage("ttl: PT0S (expected: at least 1 second)");
  }

  @Test
  void theKeyIsMadeOnceOwnerOnlyAndLoadedAfterwards() throws Exception {
    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    assertThatThrownBy(() -> BootstrapTokens.load(tmp, "cluster.local", clock))
        .hasMessage(
            tmp.resolve("bootstrap.key")
                + ": no such file (expected: the CA directory of a controller that has run with"
                + " --ca-dir "
                + tmp
                + ")");

    String token =
        BootstrapTokens.loadOrCreate(tmp, "cluster.local", clock)
            .issue("default", "hello", Duration.ofHours(1));

    Path key = tmp.resolve("bootstrap.key");
    assertThat(Files.size(key)).isEqualTo(32);
    if (Pem.posix(key)) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
          .isEqualTo("rw-------");
    }
    assertThat(BootstrapTokens.load(tmp, "cluster.local", clock).authenticate(token))
        .isEqualTo(SpiffeId.of("cluster.local", "default", "hello"));
    assertThat(BootstrapTokens.loadOrCreate(tmp, "cluster.local", clock).authenticate(token))
        .isEqualTo(SpiffeId.of("cluster.local", "default", "hello"));
  }

  @Test
  void thePayloadParserIsStrict() {
    assertThat(BootstrapTokens.payload(" { \"a\" : \"b\" , \"n\" : -3 } "))
        .containsEntry("a", "b")
        .containsEntry("n", -3L);
    assertThatThrownBy(() -> BootstrapTokens.payload("{\"a\":1,\"a\":2}"))
        .hasMessage("duplicate key: a (expected: a JSON object)");
    assertThatThrownBy(() -> BootstrapTokens.payload("{\"a\":1} x"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> BootstrapTokens.payload("{a:1}"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> BootstrapTokens.payload("[1]"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> BootstrapTokens.payload(""))
        .hasMessage("empty (expected: a JSON object)");
  }
}
