package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.smoke.support.Jvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A library whose classes the advice cannot bind to (here an {@code okhttp3.OkHttpClient} without
 * the {@code Builder} constructor every real OkHttp has) is skipped with one log line naming the
 * instrumentation, the type, the missing method and the supported versions; the application runs
 * on, untouched.
 */
class UnsupportedVersionSmokeTest {
  @TempDir Path dir;

  @Test
  void skipsAnInstrumentationWhoseTargetDiffersWithOneLine() throws Exception {
    Path src = dir.resolve("src");
    Files.createDirectories(src.resolve("okhttp3"));
    Files.writeString(
        src.resolve("okhttp3/OkHttpClient.java"),
        "package okhttp3; public class OkHttpClient { public String hello() { return \"not really OkHttp\"; } }");
    Files.writeString(
        src.resolve("FakeOkApp.java"),
        "public class FakeOkApp { public static void main(String[] a) {"
            + " System.out.println(\"APP \" + new okhttp3.OkHttpClient().hello());"
            + " System.out.println(\"APP \" + new okhttp3.OkHttpClient().hello()); } }");
    Path classes = dir.resolve("classes");
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    int rc =
        javac.run(null, null, null, "-d", classes.toString(),
            src.resolve("okhttp3/OkHttpClient.java").toString(), src.resolve("FakeOkApp.java").toString());
    assertThat(rc).isZero();

    try (Jvm app = Jvm.builder("fake-okhttp").classPath(classes.toString()).withAgent().main("FakeOkApp").start()) {
      app.awaitExit(60_000);
      List<String> lines = app.lines();

      assertThat(lines).filteredOn(l -> l.startsWith("APP ")).containsExactly("APP not really OkHttp", "APP not really OkHttp");
      assertThat(lines)
          .filteredOn(l -> l.contains("instrumentation okhttp-3.0 skipped"))
          .singleElement()
          .asString()
          .contains("for okhttp3.OkHttpClient")
          .contains("it has no method matching")
          .contains("(supported: OkHttp 3.0 to 5.x");
    }
  }
}
