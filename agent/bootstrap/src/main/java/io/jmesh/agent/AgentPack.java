package io.jmesh.agent;

import java.io.Closeable;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads the agent's classes and resources from {@value #ENTRY}, one stored (uncompressed) entry of
 * {@code jmesh-agent.jar} that holds what used to be 12,100 jar entries under {@code inst/}. Every
 * JVM that sees the jar (the system class loader for the launcher, the VM for the bootstrap path)
 * opens it and indexes every entry name, a JDK tool that the launcher skips included: one entry
 * instead of 12,100 is what keeps {@code keytool} and {@code jcmd} fast under {@code
 * JAVA_TOOL_OPTIONS}.
 *
 * <p>Format, version 1, integers big-endian ({@code AgentJarWriter} in agent/tooling writes it):
 *
 * <pre>
 * header   "JMPK", u32 version, u32 count n
 * index    i32[n] String.hashCode() of each member name, ascending (ties: by name)
 *          u32[n + 1] member offsets from the pack's start, ascending; the last is the pack's length
 *          u32 CRC-32 of the header and the index
 * members  in index order, each: u16 name length, the name (UTF-8), u8 method (0 stored,
 *          8 raw deflate), u32 size, u32 CRC-32 of the member's bytes, then its data
 * </pre>
 *
 * A member name is a resource name ({@code io/jmesh/Foo.class}, {@code META-INF/services/x}). Only
 * the two int arrays stay in the heap (8 bytes a member, 97 KiB for the agent); a lookup finds the
 * hash by binary search and checks the name stored at the member's start, so the names never need
 * to be held. The pack is read in place from the jar: no extraction, no mapping (mapped pages would
 * count in the application's RSS).
 *
 * <p>Memory: a read allocates the member's bytes and nothing else, with a pooled {@link Inflater}
 * and input buffer (file mode defines about 2,150 classes at start-up; a buffer per read was 34 MiB
 * of garbage before).
 *
 * <p>Thread-safety: safe for concurrent reads. The file is read with {@link RandomAccessFile}
 * under a lock, one short read at a time, not with a {@code FileChannel}: a {@code FileChannel}
 * closes for good when a thread that reads it is interrupted, and classes load on application
 * threads that may be.
 */
final class AgentPack implements Closeable {
  /** The pack's entry name in the jar. */
  static final String ENTRY = "inst.pack";

  static final int MAGIC = 0x4a4d504b; // "JMPK"
  static final int VERSION = 1;
  static final int STORED = 0;
  static final int DEFLATED = 8;
  /** u16 name length, u8 method, u32 size, u32 CRC: a member's header without its name. */
  static final int MEMBER_HEADER = 11;

  /** Deflate's largest expansion is about 1032 to 1: any larger size is a damaged header. */
  static final long MAX_INFLATE_RATIO = 1032;

  /** Input buffers: most compressed classes fit whole (members average 1.5 KiB). */
  private static final int BUFFER = 16 * 1024;
  /** Pooled inflaters kept; more threads reading at once get a temporary one. */
  private static final int POOL = 4;

  private final String where;
  private final RandomAccessFile file;
  /** The pack's offset in the jar file. */
  private final long base;
  private final int[] hashes;
  private final int[] offsets;
  private final ArrayDeque<Slot> pool = new ArrayDeque<>();

  private AgentPack(String where, RandomAccessFile file, long base, int[] hashes, int[] offsets) {
    this.where = where;
    this.file = file;
    this.base = base;
    this.hashes = hashes;
    this.offsets = offsets;
  }

  /**
   * Opens the pack inside {@code jar} and reads its index.
   *
   * @throws IOException naming the jar, the entry and what was expected, when the jar has no
   *     stored {@value #ENTRY} or the pack's index is damaged
   */
  static AgentPack open(File jar) throws IOException {
    String where = jar + " entry " + ENTRY;
    RandomAccessFile file = new RandomAccessFile(jar, "r");
    try {
      long[] entry = storedEntry(file, ENTRY, jar.toString());
      return readIndex(where, file, entry[0], entry[1]);
    } catch (IOException | RuntimeException e) {
      file.close();
      throw e;
    }
  }

  /**
   * Returns the data offset and length of the stored entry {@code name}, from the zip's end record,
   * its central directory and the entry's local header. Only what a jar of a few dozen entries
   * needs: no zip64, no data descriptors for stored entries.
   */
  static long[] storedEntry(RandomAccessFile file, String name, String jar) throws IOException {
    long fileLength = file.length();
    int tail = (int) Math.min(fileLength, 22 + 0xffff);
    byte[] end = new byte[tail];
    readAt(file, fileLength - tail, end, 0, tail, jar);
    int record = -1;
    for (int i = tail - 22; i >= 0 && record < 0; i--) {
      if (le32(end, i) == 0x06054b50 && i + 22 + le16(end, i + 20) == tail) {
        record = i;
      }
    }
    if (record < 0) {
      throw new IOException(jar + ": no zip end record in its last " + tail + " bytes (expected: a jar)");
    }
    long directorySize = le32(end, record + 12) & 0xffffffffL;
    long directoryOffset = le32(end, record + 16) & 0xffffffffL;
    if (directoryOffset + directorySize > fileLength - tail + record) {
      throw new IOException(jar + ": central directory at " + directoryOffset + " of " + directorySize
          + " bytes (expected: before the end record at " + (fileLength - tail + record) + "; zip64 is not read)");
    }
    byte[] directory = new byte[(int) directorySize];
    readAt(file, directoryOffset, directory, 0, directory.length, jar);
    byte[] key = name.getBytes(StandardCharsets.UTF_8);
    for (int p = 0; p + 46 <= directory.length; ) {
      if (le32(directory, p) != 0x02014b50) {
        throw new IOException(jar + ": central directory damaged at byte " + p + " (expected: an entry header)");
      }
      int nameLength = le16(directory, p + 28);
      int next = p + 46 + nameLength + le16(directory, p + 30) + le16(directory, p + 32);
      if (next > directory.length) {
        throw new IOException(jar + ": central directory entry at byte " + p + " runs past its end");
      }
      if (nameLength == key.length && Arrays.equals(directory, p + 46, p + 46 + nameLength, key, 0, key.length)) {
        int method = le16(directory, p + 10);
        long size = le32(directory, p + 24) & 0xffffffffL;
        if (method != STORED || (le32(directory, p + 20) & 0xffffffffL) != size) {
          throw new IOException(jar + " entry " + name + ": method " + method
              + " (expected: 0, stored, so that it is read in place)");
        }
        long local = le32(directory, p + 42) & 0xffffffffL;
        byte[] header = new byte[30];
        readAt(file, local, header, 0, header.length, jar);
        if (le32(header, 0) != 0x04034b50) {
          throw new IOException(jar + " entry " + name + ": no local header at " + local + " (expected: 0x04034b50)");
        }
        long data = local + 30 + le16(header, 26) + le16(header, 28);
        if (data + size > fileLength) {
          throw new IOException(jar + " entry " + name + ": " + size + " bytes at " + data + " (expected: within the"
              + " file's " + fileLength + " bytes; the jar is truncated)");
        }
        return new long[] {data, size};
      }
      p = next;
    }
    throw new IOException(jar + ": no entry " + name + " (expected: the agent's classes, packed by the build)");
  }

  private static AgentPack readIndex(String where, RandomAccessFile file, long base, long length)
      throws IOException {
    if (length < 16) {
      throw new IOException(where + ": " + length + " bytes (expected: at least a 16-byte header)");
    }
    byte[] header = new byte[12];
    readAt(file, base, header, 0, 12, where);
    int magic = getInt(header, 0);
    int version = getInt(header, 4);
    int count = getInt(header, 8);
    if (magic != MAGIC) {
      throw new IOException(where + ": magic 0x" + Integer.toHexString(magic) + " (expected: 0x"
          + Integer.toHexString(MAGIC) + ", \"JMPK\")");
    }
    if (version != VERSION) {
      throw new IOException(where + ": format version " + version + " (expected: " + VERSION + ")");
    }
    long indexEnd = 12 + 8L * count + 4 + 4;
    if (count < 0 || indexEnd > length) {
      throw new IOException(where + ": " + count + " members need an index of " + indexEnd
          + " bytes (expected: at most the pack's " + length + " bytes)");
    }
    byte[] index = new byte[(int) indexEnd];
    readAt(file, base, index, 0, index.length, where);
    CRC32 crc = new CRC32();
    crc.update(index, 0, index.length - 4);
    int expectedCrc = getInt(index, index.length - 4);
    if ((int) crc.getValue() != expectedCrc) {
      throw new IOException(where + ": index CRC-32 0x" + Integer.toHexString((int) crc.getValue())
          + " (expected: 0x" + Integer.toHexString(expectedCrc) + "); the jar is damaged");
    }
    int[] hashes = new int[count];
    int[] offsets = new int[count + 1];
    for (int i = 0; i < count; i++) {
      hashes[i] = getInt(index, 12 + 4 * i);
    }
    for (int i = 0; i <= count; i++) {
      offsets[i] = getInt(index, 12 + 4 * count + 4 * i);
    }
    for (int i = 0; i < count; i++) {
      if (i > 0 && hashes[i] < hashes[i - 1]) {
        throw new IOException(where + ": index hash " + i + " is below its predecessor (expected: ascending)");
      }
      if (offsets[i] < (i == 0 ? indexEnd : offsets[i - 1] + MEMBER_HEADER)) {
        throw new IOException(where + ": member " + i + " starts at " + offsets[i] + " (expected: after the index"
            + " and the previous member's header)");
      }
    }
    if (offsets[count] != length || (count > 0 && offsets[count] < offsets[count - 1] + MEMBER_HEADER)) {
      throw new IOException(where + ": members end at " + offsets[count] + " (expected: the pack's length, "
          + length + ")");
    }
    return new AgentPack(where, file, base, hashes, offsets);
  }

  /** How many members the pack holds. */
  int size() {
    return hashes.length;
  }

  /** Where member {@code i} starts, from the pack's start (for checks that damage one on purpose). */
  int memberStart(int i) {
    return offsets[i];
  }

  /** The pack's offset in the jar file. */
  long base() {
    return base;
  }

  /** Every member's name, in index order: one read a member (for checks and diagnostics, not loading). */
  List<String> names() throws IOException {
    List<String> names = new ArrayList<>(hashes.length);
    byte[] length = new byte[2];
    for (int i = 0; i < hashes.length; i++) {
      readAt(file, base + offsets[i], length, 0, 2, where);
      int n = getShort(length, 0);
      if (offsets[i + 1] - offsets[i] < MEMBER_HEADER + n) {
        throw new IOException(where + ": member " + i + " has a name of " + n + " bytes (expected: within its "
            + (offsets[i + 1] - offsets[i]) + " bytes)");
      }
      byte[] name = new byte[n];
      readAt(file, base + offsets[i] + 2, name, 0, n, where);
      names.add(new String(name, StandardCharsets.UTF_8));
    }
    return names;
  }

  /** Whether the pack holds {@code name}: reads the candidate's stored name, never its data. */
  boolean contains(String name) throws IOException {
    return indexOf(name) >= 0;
  }

  /** The index of member {@code name}, or -1. */
  int indexOf(String name) throws IOException {
    int hash = name.hashCode();
    byte[] key = name.getBytes(StandardCharsets.UTF_8);
    byte[] header = new byte[2 + key.length];
    for (int i = first(hash); i >= 0 && i < hashes.length && hashes[i] == hash; i++) {
      int start = offsets[i];
      if (offsets[i + 1] - start < header.length + MEMBER_HEADER - 2) {
        continue;
      }
      readAt(file, base + start, header, 0, header.length, where);
      if (getShort(header, 0) == key.length && Arrays.equals(header, 2, header.length, key, 0, key.length)) {
        return i;
      }
    }
    return -1;
  }

  /**
   * Returns the member's bytes, or null when the pack has no member of that name.
   *
   * @throws IOException naming the jar, the member and what was expected, when its data is damaged
   */
  byte[] read(String name) throws IOException {
    int hash = name.hashCode();
    int i = first(hash);
    if (i < 0) {
      return null;
    }
    byte[] key = name.getBytes(StandardCharsets.UTF_8);
    Slot slot = take();
    try {
      for (; i < hashes.length && hashes[i] == hash; i++) {
        byte[] bytes = readMember(i, key, name, slot);
        if (bytes != null) {
          return bytes;
        }
      }
      return null;
    } finally {
      give(slot);
    }
  }

  /** The first index of {@code hash}, or -1. */
  private int first(int hash) {
    int i = Arrays.binarySearch(hashes, hash);
    if (i < 0) {
      return -1;
    }
    while (i > 0 && hashes[i - 1] == hash) {
      i--;
    }
    return i;
  }

  /** Member {@code i}'s bytes when its name is {@code key}, null when it is another member. */
  private byte[] readMember(int i, byte[] key, String name, Slot slot) throws IOException {
    long start = offsets[i];
    long end = offsets[i + 1];
    byte[] buf = slot.buffer;
    int chunk = (int) Math.min(buf.length, end - start);
    readAt(file, base + start, buf, 0, chunk, where);
    int nameLength = getShort(buf, 0);
    int headerLength = MEMBER_HEADER + nameLength;
    if (headerLength > chunk) {
      throw damaged(name, "a header of " + headerLength + " bytes within the member's " + (end - start)
          + " bytes and the " + buf.length + "-byte buffer");
    }
    if (nameLength != key.length || !Arrays.equals(buf, 2, 2 + nameLength, key, 0, key.length)) {
      return null;
    }
    int method = buf[2 + nameLength] & 0xff;
    int size = getInt(buf, 3 + nameLength);
    int crc = getInt(buf, 7 + nameLength);
    long dataLength = end - start - headerLength;
    // Checked before the array is made: a damaged size must not allocate gigabytes.
    if (method != STORED && method != DEFLATED) {
      throw damaged(name, "method " + STORED + " or " + DEFLATED + ", not " + method);
    }
    if (method == STORED && dataLength != size) {
      throw damaged(name, size + " stored bytes, not " + dataLength);
    }
    if (size < 0 || (method == DEFLATED && size > dataLength * MAX_INFLATE_RATIO + 1024)) {
      throw damaged(name, "a size of at most " + MAX_INFLATE_RATIO + " times its " + dataLength
          + " deflated bytes, not " + size);
    }
    byte[] out = new byte[size];
    if (method == STORED) {
      int inBuffer = chunk - headerLength;
      System.arraycopy(buf, headerLength, out, 0, inBuffer);
      if (inBuffer < size) {
        readAt(file, base + start + chunk, out, inBuffer, size - inBuffer, where);
      }
    } else {
      inflate(slot, name, out, headerLength, chunk, base + start + chunk, base + end);
    }
    CRC32 check = new CRC32();
    check.update(out, 0, out.length);
    if ((int) check.getValue() != crc) {
      throw damaged(name, "CRC-32 0x" + Integer.toHexString(crc) + ", not 0x" + Integer.toHexString((int) check.getValue()));
    }
    return out;
  }

  /**
   * Inflates into {@code out}: the buffer holds input from {@code from} to {@code chunk}, the file
   * the rest from {@code next} to {@code end}. Every turn consumes input or fills output, and
   * running out of either ends it: a damaged member fails, it never loops.
   */
  private void inflate(Slot slot, String name, byte[] out, int from, int chunk, long next, long end)
      throws IOException {
    Inflater inflater = slot.inflater;
    byte[] buf = slot.buffer;
    inflater.reset();
    inflater.setInput(buf, from, chunk - from);
    int filled = 0;
    try {
      while (!inflater.finished()) {
        if (inflater.needsInput()) {
          if (next >= end) {
            throw damaged(name, out.length + " bytes, but its data ended after " + filled);
          }
          int n = (int) Math.min(buf.length, end - next);
          readAt(file, next, buf, 0, n, where);
          next += n;
          inflater.setInput(buf, 0, n);
        }
        int n = inflater.inflate(out, filled, out.length - filled);
        filled += n;
        if (n == 0 && !inflater.finished() && !inflater.needsInput()) {
          throw damaged(name, out.length + " bytes, but it inflates to more, or needs a dictionary");
        }
      }
    } catch (DataFormatException e) {
      throw damaged(name, "deflate data (" + e.getMessage() + ")");
    }
    if (filled != out.length || next != end || inflater.getRemaining() != 0) {
      throw damaged(name, out.length + " bytes from all of its data, not " + filled + " bytes with "
          + (inflater.getRemaining() + end - next) + " bytes left");
    }
  }

  private IOException damaged(String member, String expected) {
    return new IOException(where + ": member " + member + " is damaged (expected: " + expected + ")");
  }

  private Slot take() {
    synchronized (pool) {
      Slot slot = pool.pollFirst();
      if (slot != null) {
        return slot;
      }
    }
    return new Slot();
  }

  private void give(Slot slot) {
    synchronized (pool) {
      if (pool.size() < POOL) {
        pool.addFirst(slot);
        return;
      }
    }
    slot.inflater.end();
  }

  /** Reads {@code length} bytes at {@code position} of the file; the lock spans one seek and read. */
  private static void readAt(RandomAccessFile file, long position, byte[] into, int offset, int length, String where)
      throws IOException {
    synchronized (file) {
      file.seek(position);
      try {
        file.readFully(into, offset, length);
      } catch (EOFException e) {
        throw new EOFException(where + ": the file ends before byte " + (position + length)
            + " (expected: the whole pack; the jar is truncated)");
      }
    }
  }

  static int getInt(byte[] b, int at) {
    return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
  }

  private static int le32(byte[] b, int at) {
    return (b[at] & 0xff) | ((b[at + 1] & 0xff) << 8) | ((b[at + 2] & 0xff) << 16) | ((b[at + 3] & 0xff) << 24);
  }

  private static int le16(byte[] b, int at) {
    return (b[at] & 0xff) | ((b[at + 1] & 0xff) << 8);
  }

  static int getShort(byte[] b, int at) {
    return ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
  }

  @Override
  public void close() throws IOException {
    synchronized (pool) {
      for (Slot slot : pool) {
        slot.inflater.end();
      }
      pool.clear();
    }
    file.close();
  }

  @Override
  public String toString() {
    return where;
  }

  /** An inflater and its input buffer, used by one read at a time. */
  static final class Slot {
    final Inflater inflater = new Inflater(true);
    final byte[] buffer = new byte[BUFFER];
  }
}
