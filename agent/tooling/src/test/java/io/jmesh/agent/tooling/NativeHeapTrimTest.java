package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.instrument.Instrumentation;
import java.nio.file.Files;
import java.nio.file.Path;
import net.bytebuddy.agent.ByteBuddyAgent;
import org.junit.jupiter.api.Test;

class NativeHeapTrimTest {
  @Test
  void trimsTheCHeapOnAJdkThatHasTheCommand() {
    // System.trim_native_heap: JDK 17.0.9 and later, on glibc (Linux without musl).
    assumeTrue(Runtime.version().compareTo(Runtime.Version.parse("17.0.9")) >= 0, "JDK 17.0.9 or later");
    assumeTrue(Files.exists(Path.of("/lib/x86_64-linux-gnu/libc.so.6")) || Files.exists(Path.of("/lib64/libc.so.6")),
        "glibc");
    Instrumentation inst = ByteBuddyAgent.install();

    // The JVM's own answer: the RSS before and after, for the debug line.
    assertThat(NativeHeapTrim.trim(inst)).startsWith("Trim native heap: RSS+Swap: ");
    // Again: the module is already open, nothing breaks.
    assertThat(NativeHeapTrim.trim(inst)).startsWith("Trim native heap: RSS+Swap: ");
  }
}
