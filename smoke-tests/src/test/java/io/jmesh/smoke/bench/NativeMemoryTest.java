package io.jmesh.smoke.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class NativeMemoryTest {
  /** Trimmed from {@code jcmd <pid> VM.native_memory summary} of OpenJDK 17.0.15. */
  private static final String SUMMARY =
      "2396:\n\nNative Memory Tracking:\n\n(Omitting categories weighting less than 1KB)\n\n"
          + "Total: reserved=1714436KB, committed=344444KB\n"
          + "       malloc: 10028KB #63046\n"
          + "       mmap:   reserved=1704408KB, committed=334416KB\n\n"
          + "-                 Java Heap (reserved=262144KB, committed=262144KB)\n"
          + "                            (mmap: reserved=262144KB, committed=262144KB) \n \n"
          + "-                     Class (reserved=1048796KB, committed=1372KB)\n"
          + "                            (  Class space:)\n"
          + "                            (    reserved=1048576KB, committed=1152KB)\n"
          + "-                    Thread (reserved=21559KB, committed=927KB)\n"
          + "-                      Code (reserved=247880KB, committed=7740KB)\n"
          + "-                        GC (reserved=47461KB, committed=47461KB)\n"
          + "-                     Other (reserved=10KB, committed=10KB)\n"
          + "-    Native Memory Tracking (reserved=1019KB, committed=1019KB)\n"
          + "-        Shared class space (reserved=16384KB, committed=12060KB)\n"
          + "-                 Metaspace (reserved=65574KB, committed=8102KB)\n";

  @Test
  void groupsCommittedKibByCategory() {
    Map<String, Long> m = NativeMemory.parse(SUMMARY);

    assertThat(m)
        .containsEntry("heap", 262144L)
        .containsEntry("class/metaspace", 1372L + 12060L + 8102L)
        .containsEntry("code", 7740L)
        .containsEntry("threads", 927L)
        .containsEntry("direct (Other)", 10L)
        .containsEntry("other", 47461L + 1019L)
        .containsEntry("total", 344444L);
    // The nested "reserved=..., committed=..." lines of a category are not categories.
    assertThat(m.keySet()).containsExactly("heap", "class/metaspace", "code", "threads", "direct (Other)", "other", "total");
  }

  @Test
  void noSummaryGivesNothing() {
    assertThat(NativeMemory.parse("1234:\nNative memory tracking is not enabled\n")).isEmpty();
  }
}
