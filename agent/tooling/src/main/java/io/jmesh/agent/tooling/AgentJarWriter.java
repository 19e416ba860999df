package io.jmesh.agent.tooling;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes {@code jmesh-agent.jar} at package time (agent/pom.xml runs {@link #main}): the
 * manifest, the files of a root directory (the launcher and the bridge) as ordinary entries, and
 * the files of a second directory (everything else) packed into the one stored entry {@value
 * #PACK_ENTRY}, in the format that {@code io.jmesh.agent.AgentPack} (agent/bootstrap) reads and
 * documents. A JVM that opens the jar, as every JVM with the agent in {@code JAVA_TOOL_OPTIONS}
 * does, indexes a few dozen entries instead of 12,000.
 *
 * <p>Deterministic: the same files give the same bytes (sorted names, fixed entry times, fixed
 * deflate level). Not thread-safe; one call writes one jar.
 */
public final class AgentJarWriter {
  /** The format's constants, as {@code AgentPack} defines them. */
  static final String PACK_ENTRY = "inst.pack";

  static final int MAGIC = 0x4a4d504b;
  static final int VERSION = 1;
  static final int STORED = 0;
  static final int DEFLATED = 8;
  /** Names this long or longer would not fit the reader's first read of a member. */
  static final int MAX_NAME_BYTES = 4096;

  /** Every entry's time: zip times are local, so a fixed local time keeps the bytes fixed. */
  private static final LocalDateTime ENTRY_TIME = LocalDateTime.of(2026, 1, 1, 0, 0);

  private AgentJarWriter() {}

  /**
   * {@code AgentJarWriter <out.jar> <root dir> <pack dir> [Name=Value ...]}: the manifest's
   * attributes follow the directories.
   */
  public static void main(String[] args) throws IOException {
    if (args.length < 3) {
      throw new IllegalArgumentException(
          "usage: AgentJarWriter <out.jar> <root dir> <pack dir> [Manifest-Attribute=value ...] (got "
              + args.length + " arguments)");
    }
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    for (int i = 3; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("manifest attribute " + args[i] + " (expected: Name=value)");
      }
      manifest.getMainAttributes().putValue(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    Map<String, byte[]> root = files(Path.of(args[1]));
    Map<String, byte[]> members = files(Path.of(args[2]));
    byte[] pack = pack(members);
    writeJar(Path.of(args[0]), manifest, root, pack);
    System.out.printf("%s: the manifest, %d root files and %s (%d members, %,d bytes)%n",
        args[0], root.size(), PACK_ENTRY, members.size(), pack.length);
  }

  /** Every regular file under {@code dir}, by its relative name with {@code /} separators. */
  public static Map<String, byte[]> files(Path dir) throws IOException {
    Map<String, byte[]> files = new TreeMap<>();
    List<Path> paths;
    try (Stream<Path> walk = Files.walk(dir)) {
      paths = walk.filter(Files::isRegularFile).toList();
    }
    for (Path p : paths) {
      files.put(dir.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
    }
    return files;
  }

  /**
   * The pack of {@code members} (resource name to bytes): index sorted by the names' {@link
   * String#hashCode}, then by name; each member deflated, or stored where deflating does not
   * make it smaller.
   */
  public static byte[] pack(Map<String, byte[]> members) throws IOException {
    List<String> names = new ArrayList<>(members.keySet());
    names.sort(Comparator.comparingInt(String::hashCode).thenComparing(Comparator.naturalOrder()));
    int count = names.size();
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(data);
    int indexEnd = 12 + 8 * count + 4 + 4;
    int[] offsets = new int[count + 1];
    Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION, true);
    try {
      for (int i = 0; i < count; i++) {
        offsets[i] = indexEnd + data.size();
        String name = names.get(i);
        byte[] key = name.getBytes(StandardCharsets.UTF_8);
        if (key.length >= MAX_NAME_BYTES) {
          throw new IOException("member " + name + ": name of " + key.length + " bytes (expected: fewer than "
              + MAX_NAME_BYTES + ")");
        }
        byte[] bytes = members.get(name);
        byte[] deflated = deflate(deflater, bytes);
        boolean store = deflated.length >= bytes.length;
        CRC32 crc = new CRC32();
        crc.update(bytes);
        out.writeShort(key.length);
        out.write(key);
        out.writeByte(store ? STORED : DEFLATED);
        out.writeInt(bytes.length);
        out.writeInt((int) crc.getValue());
        out.write(store ? bytes : deflated);
      }
    } finally {
      deflater.end();
    }
    long length = (long) indexEnd + data.size();
    if (length > Integer.MAX_VALUE) {
      throw new IOException("pack of " + length + " bytes (expected: below 2 GiB)");
    }
    offsets[count] = (int) length;

    ByteArrayOutputStream index = new ByteArrayOutputStream(indexEnd);
    DataOutputStream head = new DataOutputStream(index);
    head.writeInt(MAGIC);
    head.writeInt(VERSION);
    head.writeInt(count);
    for (String name : names) {
      head.writeInt(name.hashCode());
    }
    for (int offset : offsets) {
      head.writeInt(offset);
    }
    CRC32 crc = new CRC32();
    crc.update(index.toByteArray());
    head.writeInt((int) crc.getValue());
    data.writeTo(index);
    return index.toByteArray();
  }

  private static byte[] deflate(Deflater deflater, byte[] bytes) {
    deflater.reset();
    deflater.setInput(bytes);
    deflater.finish();
    ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length / 2 + 64);
    byte[] buf = new byte[8192];
    while (!deflater.finished()) {
      int n = deflater.deflate(buf);
      out.write(buf, 0, n);
    }
    return out.toByteArray();
  }

  /** The manifest first, then the root files by name, then the pack, stored so that it is read in place. */
  public static void writeJar(Path jar, Manifest manifest, Map<String, byte[]> root, byte[] pack) throws IOException {
    Path tmp = jar.resolveSibling(jar.getFileName() + ".tmp");
    try (OutputStream file = Files.newOutputStream(tmp);
        ZipOutputStream zip = new ZipOutputStream(file)) {
      zip.setLevel(Deflater.BEST_COMPRESSION);
      zip.putNextEntry(entry(JarFile.MANIFEST_NAME));
      manifest.write(zip);
      zip.closeEntry();
      for (Map.Entry<String, byte[]> e : root.entrySet()) {
        if (e.getKey().equals(JarFile.MANIFEST_NAME) || e.getKey().equals(PACK_ENTRY)) {
          throw new IOException("root file " + e.getKey() + " (expected: neither the manifest nor the pack)");
        }
        zip.putNextEntry(entry(e.getKey()));
        zip.write(e.getValue());
        zip.closeEntry();
      }
      ZipEntry entry = entry(PACK_ENTRY);
      CRC32 crc = new CRC32();
      crc.update(pack);
      entry.setMethod(ZipEntry.STORED);
      entry.setSize(pack.length);
      entry.setCompressedSize(pack.length);
      entry.setCrc(crc.getValue());
      zip.putNextEntry(entry);
      zip.write(pack);
      zip.closeEntry();
    }
    Files.move(tmp, jar, StandardCopyOption.REPLACE_EXISTING);
  }

  private static ZipEntry entry(String name) {
    ZipEntry entry = new ZipEntry(name);
    entry.setTimeLocal(ENTRY_TIME);
    return entry;
  }
}
