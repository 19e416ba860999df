package io.jmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.jmesh.agent.tooling.AgentJarWriter;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pack format: {@link AgentJarWriter} writes it, {@link AgentPack} reads it. */
class AgentPackTest {
  @TempDir Path dir;

  /** Members of every kind the reader handles differently. */
  private static Map<String, byte[]> members() throws IOException {
    Map<String, byte[]> members = new LinkedHashMap<>();
    Random random = new Random(42);
    members.put("empty.txt", new byte[0]);
    members.put("META-INF/services/io.example.Service", "io.example.Impl\n".getBytes(StandardCharsets.UTF_8));
    try (var in = AgentPackTest.class.getResourceAsStream("AgentPackTest.class")) {
      members.put("io/jmesh/agent/AgentPackTest.class", in.readAllBytes());
    }
    // Incompressible, larger than a read buffer: stored, read partly straight into the result.
    byte[] noise = new byte[100_000];
    random.nextBytes(noise);
    members.put("noise.bin", noise);
    // Compressible but still more than one buffer of deflated data: inflated over several reads.
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < 40_000; i++) {
      text.append(Integer.toHexString(random.nextInt(1 << 16))).append(i % 7 == 0 ? '\n' : ' ');
    }
    members.put("big.txt", text.toString().getBytes(StandardCharsets.UTF_8));
    members.put("META-INF/é-ü.txt", "non-ASCII name".getBytes(StandardCharsets.UTF_8));
    // "Aa" and "BB" have the same String.hashCode(): both must be found, each by its own name.
    members.put("Aa", "first of a hash pair".getBytes(StandardCharsets.UTF_8));
    members.put("BB", "second of a hash pair".getBytes(StandardCharsets.UTF_8));
    return members;
  }

  private File jar(Map<String, byte[]> members) throws IOException {
    return jar("agent.jar", AgentJarWriter.pack(members));
  }

  private File jar(String name, byte[] pack) throws IOException {
    Path jar = dir.resolve(name);
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    AgentJarWriter.writeJar(jar, manifest, Map.of("io/jmesh/agent/Root.class", new byte[] {1, 2, 3}), pack);
    return jar.toFile();
  }

  @Test
  void readsBackEveryMember() throws Exception {
    Map<String, byte[]> members = members();
    try (AgentPack pack = AgentPack.open(jar(members))) {
      assertThat(pack.size()).isEqualTo(members.size());
      for (Map.Entry<String, byte[]> e : members.entrySet()) {
        assertThat(pack.read(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
        assertThat(pack.contains(e.getKey())).as(e.getKey()).isTrue();
      }
    }
  }

  @Test
  void theJarHoldsTheManifestTheRootFilesAndOneStoredPack() throws Exception {
    try (JarFile jar = new JarFile(jar(members()))) {
      assertThat(jar.stream().map(ZipEntry::getName))
          .containsExactly(JarFile.MANIFEST_NAME, "io/jmesh/agent/Root.class", AgentPack.ENTRY);
      assertThat(jar.getEntry(AgentPack.ENTRY).getMethod()).isEqualTo(ZipEntry.STORED);
      // The JDK's own reader agrees with the entry's size and CRC.
      assertThat(jar.getInputStream(jar.getEntry(AgentPack.ENTRY)).readAllBytes())
          .isEqualTo(AgentJarWriter.pack(members()));
    }
  }

  @Test
  void sameFilesGiveTheSameBytes() throws Exception {
    byte[] first = Files.readAllBytes(jar("a.jar", AgentJarWriter.pack(members())).toPath());
    byte[] second = Files.readAllBytes(jar("b.jar", AgentJarWriter.pack(members())).toPath());

    assertThat(second).isEqualTo(first);
  }

  @Test
  void anAbsentMemberIsNullEvenWhenItsHashMatchesOne() throws Exception {
    Map<String, byte[]> members = Map.of("Aa", new byte[] {1});
    try (AgentPack pack = AgentPack.open(jar(members))) {
      assertThat("BB".hashCode()).isEqualTo("Aa".hashCode());
      assertThat(pack.read("BB")).isNull();
      assertThat(pack.contains("BB")).isFalse();
      assertThat(pack.read("no/such/Thing.class")).isNull();
      assertThat(pack.contains("no/such/Thing.class")).isFalse();
    }
  }

  @Test
  void anEmptyPackHasNoMembers() throws Exception {
    try (AgentPack pack = AgentPack.open(jar(Map.of()))) {
      assertThat(pack.size()).isZero();
      assertThat(pack.read("a")).isNull();
    }
  }

  /** The pack's offset in {@code jar} and its length. */
  private static long[] packAt(File jar) throws IOException {
    try (RandomAccessFile file = new RandomAccessFile(jar, "r")) {
      return AgentPack.storedEntry(file, AgentPack.ENTRY, jar.toString());
    }
  }

  private static void flip(File jar, long position) throws IOException {
    try (RandomAccessFile file = new RandomAccessFile(jar, "rw")) {
      file.seek(position);
      int b = file.read();
      file.seek(position);
      file.write(b ^ 0x5a);
    }
  }

  @Test
  void aDamagedIndexFailsTheOpenNamingJarEntryAndExpectation() throws Exception {
    File jar = jar(members());
    // A byte of the offsets table: the index CRC no longer matches.
    flip(jar, packAt(jar)[0] + 12 + 4 * members().size() + 2);

    assertThatThrownBy(() -> AgentPack.open(jar))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith(jar + " entry inst.pack: index CRC-32 0x")
        .hasMessageContaining("(expected: 0x");
  }

  @Test
  void aWrongMagicOrVersionFailsTheOpen() throws Exception {
    File jar = jar(members());
    flip(jar, packAt(jar)[0]);
    assertThatThrownBy(() -> AgentPack.open(jar)).hasMessageContaining("magic 0x").hasMessageContaining("expected: 0x4a4d504b");

    File other = jar(members());
    flip(other, packAt(other)[0] + 7);
    assertThatThrownBy(() -> AgentPack.open(other)).hasMessageContaining("format version").hasMessageContaining("(expected: 1)");
  }

  @Test
  void aTruncatedPackFailsTheOpen() throws Exception {
    byte[] pack = AgentJarWriter.pack(members());
    File jar = jar("short.jar", java.util.Arrays.copyOf(pack, pack.length / 2));

    assertThatThrownBy(() -> AgentPack.open(jar))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(jar + " entry inst.pack: members end at " + pack.length)
        .hasMessageContaining("(expected: the pack's length, " + pack.length / 2 + ")");
  }

  @Test
  void aDamagedMemberFailsItsReadNamingTheMember() throws Exception {
    Map<String, byte[]> members = members();
    File jar = jar(members);
    // The middle of big.txt's deflated data: found through the reader's own index.
    long start;
    long end;
    try (AgentPack pack = AgentPack.open(jar)) {
      int member = pack.indexOf("big.txt");
      start = pack.base() + pack.memberStart(member);
      end = pack.base() + pack.memberStart(member + 1);
    }
    flip(jar, (start + end) / 2);

    try (AgentPack pack = AgentPack.open(jar)) {
      assertThatThrownBy(() -> pack.read("big.txt"))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith(jar + " entry inst.pack: member big.txt is damaged (expected: ");
      // The others still read.
      assertThat(pack.read("noise.bin")).isEqualTo(members.get("noise.bin"));
    }
  }

  @Test
  void aDamagedSizeFailsTheReadBeforeAnyArrayIsMade() throws Exception {
    File jar = jar(members());
    try (AgentPack pack = AgentPack.open(jar)) {
      // The top byte of big.txt's u32 size (after u16 name length, the name and u8 method):
      // about 1.5 GB, which its deflated data cannot hold.
      flip(jar, pack.base() + pack.memberStart(pack.indexOf("big.txt")) + 2 + "big.txt".length() + 1);

      assertThatThrownBy(() -> pack.read("big.txt"))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("member big.txt is damaged (expected: a size of at most 1032 times its");
    }
  }

  @Test
  void aJarWithoutAPackOrWithACompressedOneIsRefused() throws Exception {
    File plain = dir.resolve("plain.jar").toFile();
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(plain.toPath()))) {
      zip.putNextEntry(new ZipEntry("a.txt"));
      zip.write(1);
      zip.closeEntry();
    }
    assertThatThrownBy(() -> AgentPack.open(plain))
        .hasMessage(plain + ": no entry inst.pack (expected: the agent's classes, packed by the build)");

    File deflated = dir.resolve("deflated.jar").toFile();
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(deflated.toPath()))) {
      zip.putNextEntry(new ZipEntry(AgentPack.ENTRY));
      zip.write(AgentJarWriter.pack(members()));
      zip.closeEntry();
    }
    assertThatThrownBy(() -> AgentPack.open(deflated))
        .hasMessage(deflated + " entry inst.pack: method 8 (expected: 0, stored, so that it is read in place)");
  }

  @Test
  void concurrentReadsAllSeeTheirOwnBytesAndInterruptedThreadsStillRead() throws Exception {
    Map<String, byte[]> members = members();
    List<String> names = new ArrayList<>(members.keySet());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try (AgentPack pack = AgentPack.open(jar(members))) {
      List<Future<Integer>> results = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        results.add(
            pool.submit(
                () -> {
                  // Odd threads read interrupted: a class may load on such a thread, and an
                  // interrupt must not close the pack for everyone (as a FileChannel would).
                  if (thread % 2 == 1) {
                    Thread.currentThread().interrupt();
                  }
                  int checked = 0;
                  for (int round = 0; round < 50; round++) {
                    String name = names.get((round + thread) % names.size());
                    assertThat(pack.read(name)).as(name).isEqualTo(members.get(name));
                    checked++;
                  }
                  Thread.interrupted();
                  return checked;
                }));
      }
      for (Future<Integer> f : results) {
        assertThat(f.get(60, TimeUnit.SECONDS)).isEqualTo(50);
      }
      assertThat(pack.read("big.txt")).isEqualTo(members.get("big.txt"));
    } finally {
      pool.shutdownNow();
    }
  }
}
