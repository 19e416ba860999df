package io.jmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentClassLoaderTest {
  @TempDir Path dir;

  /** A jar laid out as jmesh-agent.jar is: one class and one resource under {@code inst/}. */
  private File agentJar() throws IOException {
    File jar = dir.resolve("agent.jar").toFile();
    String name = Marker.class.getName().replace('.', '/');
    byte[] classBytes;
    try (InputStream in = Marker.class.getClassLoader().getResourceAsStream(name + ".class")) {
      classBytes = in.readAllBytes();
    }
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar.toPath()))) {
      put(out, AgentClassLoader.PREFIX + name + AgentClassLoader.CLASS_SUFFIX, classBytes);
      put(out, AgentClassLoader.PREFIX + "META-INF/jmesh-test.txt", "hello".getBytes(StandardCharsets.UTF_8));
    }
    return jar;
  }

  private static void put(JarOutputStream out, String name, byte[] bytes) throws IOException {
    out.putNextEntry(new JarEntry(name));
    out.write(bytes);
    out.closeEntry();
  }

  @Test
  void definesClassesFromClassdataEntries() throws Exception {
    // The parent cannot see the test classes, so the class must come from the jar.
    AgentClassLoader loader = new AgentClassLoader(agentJar(), ClassLoader.getPlatformClassLoader());

    Class<?> c = loader.loadClass(Marker.class.getName());

    assertThat(c.getClassLoader()).isSameAs(loader);
    assertThat(c).isNotSameAs(Marker.class);
    assertThat(c.getPackage().getName()).isEqualTo(Marker.class.getPackageName());
  }

  @Test
  void streamsResourcesAndClassBytesStraightFromTheJar() throws Exception {
    AgentClassLoader loader = new AgentClassLoader(agentJar(), ClassLoader.getPlatformClassLoader());

    try (InputStream in = loader.getResourceAsStream("META-INF/jmesh-test.txt")) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("hello");
    }
    // ByteBuddy reads advice classes by their .class name.
    try (InputStream in = loader.getResourceAsStream(Marker.class.getName().replace('.', '/') + ".class")) {
      assertThat(in.readAllBytes()).startsWith(0xCA, 0xFE, 0xBA, 0xBE);
    }
    assertThat(loader.getResourceAsStream("no/such/Thing.class")).isNull();
    // Parent first: a JDK resource still comes from the platform loader's side.
    try (InputStream in = loader.getResourceAsStream("java/lang/Object.class")) {
      assertThat(in).isNotNull();
    }
  }

  @Test
  void readsAnEntryOfKnownSizeExactlyAndRefusesAShortOne() throws Exception {
    byte[] data = new byte[20_000];
    data[19_999] = 7;

    assertThat(AgentClassLoader.read(new ByteArrayInputStream(data), data.length)).isEqualTo(data);
    assertThat(AgentClassLoader.read(new ByteArrayInputStream(data), -1)).isEqualTo(data);
    assertThatThrownBy(() -> AgentClassLoader.read(new ByteArrayInputStream(data), 30_000))
        .isInstanceOf(EOFException.class)
        .hasMessage("entry ended after 20000 bytes (expected: 30000)");
  }

  /** Loaded a second time, by the agent class loader, from the test jar. */
  static final class Marker {
    @SuppressWarnings("unused")
    private OutputStream unused;
  }
}
