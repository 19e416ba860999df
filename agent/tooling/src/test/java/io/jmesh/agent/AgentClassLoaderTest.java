package io.jmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.agent.tooling.AgentJarWriter;
import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.jar.Attributes;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentClassLoaderTest {
  @TempDir Path dir;

  private static byte[] classBytes(Class<?> c) throws IOException {
    try (InputStream in = c.getClassLoader().getResourceAsStream(c.getName().replace('.', '/') + ".class")) {
      return in.readAllBytes();
    }
  }

  /** A jar laid out as jmesh-agent.jar is: classes, a resource and a service file in the pack. */
  private File agentJar() throws IOException {
    Map<String, byte[]> members = new LinkedHashMap<>();
    for (Class<?> c : List.of(Marker.class, Service.class, ServiceImpl.class)) {
      members.put(c.getName().replace('.', '/') + ".class", classBytes(c));
    }
    members.put("META-INF/jmesh-test.txt", "hello".getBytes(StandardCharsets.UTF_8));
    members.put("META-INF/services/" + Service.class.getName(), (ServiceImpl.class.getName() + "\n").getBytes(StandardCharsets.UTF_8));
    Path jar = dir.resolve("agent.jar");
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    AgentJarWriter.writeJar(jar, manifest, Map.of(), AgentJarWriter.pack(members));
    return jar.toFile();
  }

  @Test
  void definesClassesFromThePack() throws Exception {
    // The parent cannot see the test classes, so the class must come from the jar.
    AgentClassLoader loader = new AgentClassLoader(agentJar(), ClassLoader.getPlatformClassLoader());

    Class<?> c = loader.loadClass(Marker.class.getName());

    assertThat(c.getClassLoader()).isSameAs(loader);
    assertThat(c).isNotSameAs(Marker.class);
    assertThat(c.getPackage().getName()).isEqualTo(Marker.class.getPackageName());
    assertThatThrownBy(() -> loader.loadClass("no.such.Thing")).isInstanceOf(ClassNotFoundException.class);
  }

  @Test
  void streamsResourcesAndClassBytesFromThePack() throws Exception {
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
  void resourceUrlsOpenWithTheLoadersOwnHandler() throws Exception {
    File jar = agentJar();
    AgentClassLoader loader = new AgentClassLoader(jar, ClassLoader.getPlatformClassLoader());

    URL url = loader.getResource("META-INF/jmesh-test.txt");

    assertThat(url).hasToString("jmesh-pack:" + jar.getAbsolutePath() + "!/META-INF/jmesh-test.txt");
    try (InputStream in = url.openStream()) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("hello");
    }
    assertThat(url.openConnection().getContentLengthLong()).isEqualTo(5);
    assertThat(Collections.list(loader.getResources("META-INF/jmesh-test.txt"))).containsExactly(url);
    assertThat(loader.getResource("no/such/thing.txt")).isNull();
    assertThat(Collections.list(loader.getResources("no/such/thing.txt"))).isEmpty();
    // A URL naming a member that is not there fails on open, as a missing file does.
    URL missing = new URL(url, "nothing.txt");
    assertThatThrownBy(missing::openStream).isInstanceOf(FileNotFoundException.class).hasMessageContaining("nothing.txt");
  }

  @Test
  void serviceLoaderFindsProvidersInThePack() throws Exception {
    AgentClassLoader loader = new AgentClassLoader(agentJar(), ClassLoader.getPlatformClassLoader());
    Class<?> service = loader.loadClass(Service.class.getName());

    List<String> found =
        ServiceLoader.load(service, loader).stream().map(p -> p.type().getName()).toList();

    assertThat(found).containsExactly(ServiceImpl.class.getName());
  }

  @Test
  void aDamagedClassFailsItsLoadNamingTheJarAndMember() throws Exception {
    File jar = agentJar();
    String member = Marker.class.getName().replace('.', '/') + ".class";
    long crcAt;
    try (AgentPack pack = AgentPack.open(jar)) {
      // The member's CRC-32, just before its data: u16 name length, name, u8 method, u32 size.
      crcAt = pack.base() + pack.memberStart(pack.indexOf(member)) + 2 + member.length() + 5;
    }
    try (RandomAccessFile file = new RandomAccessFile(jar, "rw")) {
      file.seek(crcAt);
      int b = file.read();
      file.seek(crcAt);
      file.write(b ^ 1);
    }
    AgentClassLoader loader = new AgentClassLoader(jar, ClassLoader.getPlatformClassLoader());

    assertThatThrownBy(() -> loader.loadClass(Marker.class.getName()))
        .isInstanceOf(ClassNotFoundException.class)
        .hasMessageContaining(jar + " entry inst.pack: member " + member + " is damaged (expected: CRC-32 0x");
  }

  /** Loaded a second time, by the agent class loader, from the test jar. */
  static final class Marker {
    @SuppressWarnings("unused")
    private OutputStream unused;
  }

  /** A service interface and its provider, both from the pack. */
  public interface Service {}

  /** The provider: public, with a public no-argument constructor, as ServiceLoader wants. */
  public static final class ServiceImpl implements Service {
    public ServiceImpl() {}
  }
}
