package io.jmesh.runtime.identity;

import static org.assertj.core.api.Assertions.assertThat;

import io.jmesh.runtime.RuntimeLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenFileTest {
  @TempDir Path dir;
  private final List<String> warnings = new CopyOnWriteArrayList<>();

  @BeforeEach
  void captureLog() {
    RuntimeLog.setSink((level, message) -> {
      if (message.contains(dir.toString())) {
        warnings.add(level + " " + message);
      }
    });
  }

  @AfterEach
  void restoreLog() {
    RuntimeLog.setSink((level, message) -> System.getLogger("io.jmesh.runtime").log(level, message));
  }

  @Test
  void eachReadSeesWhatTheFileHoldsNowTrimmed() throws Exception {
    Path file = Files.writeString(dir.resolve("token"), "jmesh1.first\n");
    TokenFile tokens = new TokenFile(file, "jmesh1.first");

    assertThat(tokens.get()).isEqualTo("jmesh1.first");
    Files.writeString(file, "  jmesh1.second \n");
    assertThat(tokens.get()).isEqualTo("jmesh1.second");
    assertThat(warnings).isEmpty();
  }

  @Test
  void aSwapOfTheKubeletsDataLinkIsSeenAtTheNextRead() throws Exception {
    ProjectedVolume volume = new ProjectedVolume(dir, "jmesh1.first");
    TokenFile tokens = new TokenFile(volume.token(), "jmesh1.first");
    assertThat(tokens.get()).isEqualTo("jmesh1.first");

    volume.rotate("jmesh1.second");

    assertThat(tokens.get()).isEqualTo("jmesh1.second");
    assertThat(warnings).isEmpty();
  }

  @Test
  void aMissingEmptyOrUnreadableFileGivesTheLastGoodTokenAndOneWarning() throws Exception {
    Path file = Files.writeString(dir.resolve("token"), "jmesh1.first");
    TokenFile tokens = new TokenFile(file, "jmesh1.first");
    Files.writeString(file, "jmesh1.second");
    assertThat(tokens.get()).isEqualTo("jmesh1.second");

    Files.writeString(file, " \n");
    assertThat(tokens.get()).isEqualTo("jmesh1.second");
    Files.delete(file);
    assertThat(tokens.get()).isEqualTo("jmesh1.second");
    Files.createDirectory(file); // unreadable as a file, even for root
    assertThat(tokens.get()).isEqualTo("jmesh1.second");

    // One warning for the run of failures, naming the file and the first error.
    assertThat(warnings)
        .containsExactly(
            "WARNING bootstrap token file " + file + ": it is empty (expected: a file holding the"
                + " token); using the last good token read from it");

    // Good again, then bad again: a new run of failures, a new warning, with the error.
    Files.delete(file);
    Files.writeString(file, "jmesh1.third");
    assertThat(tokens.get()).isEqualTo("jmesh1.third");
    Files.delete(file);
    assertThat(tokens.get()).isEqualTo("jmesh1.third");
    assertThat(warnings).hasSize(2);
    assertThat(warnings.get(1))
        .startsWith("WARNING bootstrap token file " + file + ": cannot read it (java.nio.file.NoSuchFileException")
        .doesNotContain("jmesh1.");
  }

  @Test
  void beforeAnyGoodReadTheTokenReadAtStartIsTheLastGood() throws Exception {
    Path file = dir.resolve("token"); // gone since the start
    TokenFile tokens = new TokenFile(file, "jmesh1.atstart");

    assertThat(tokens.get()).isEqualTo("jmesh1.atstart");
    assertThat(warnings).singleElement().asString().contains("cannot read it");
  }

  @Test
  void aValueThatCannotBeAHeaderIsRefusedWithoutShowingIt() throws Exception {
    Path file = Files.writeString(dir.resolve("token"), "jmesh1.secret part");
    TokenFile tokens = new TokenFile(file, "jmesh1.first");

    assertThat(tokens.get()).isEqualTo("jmesh1.first");
    assertThat(warnings)
        .containsExactly(
            "WARNING bootstrap token file " + file + ": it holds a token of 18 characters (not"
                + " shown) with U+0020 at position 13, not printable ASCII without spaces (expected:"
                + " a file holding the token); using the last good token read from it");
  }
}
