package io.jmesh.smoke.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A JVM's own account of its memory: {@code jcmd <pid> VM.native_memory summary} (the JVM must
 * run with {@code -XX:NativeMemoryTracking=summary}), committed KiB per category, grouped into the
 * footprint section's columns. Direct buffers, Netty's included, are {@code Other} (they come from
 * {@code Unsafe.allocateMemory}); the tracker's own cost, {@code Native Memory Tracking}, is in
 * {@code other} like every remaining category.
 */
final class NativeMemory {
  /** The columns, in table order. */
  static final List<String> GROUPS = List.of("heap", "class/metaspace", "code", "threads", "direct (Other)", "other");

  private static final Pattern CATEGORY =
      Pattern.compile("^-\\s+(.+?) \\(reserved=(\\d+)KB, committed=(\\d+)KB\\)");
  private static final Pattern TOTAL = Pattern.compile("^Total: reserved=(\\d+)KB, committed=(\\d+)KB");

  private NativeMemory() {}

  /**
   * Committed KiB per group of {@link #GROUPS}, plus {@code total}; an empty map when the output
   * holds no summary (the JVM ran without tracking, or ended).
   */
  static Map<String, Long> parse(String jcmdOutput) {
    Map<String, Long> groups = new LinkedHashMap<>();
    long total = -1;
    for (String line : jcmdOutput.split("\n")) {
      String l = line.trim();
      Matcher t = TOTAL.matcher(l);
      if (t.find()) {
        total = Long.parseLong(t.group(2));
        continue;
      }
      Matcher m = CATEGORY.matcher(l);
      if (m.find()) {
        groups.merge(group(m.group(1)), Long.parseLong(m.group(3)), Long::sum);
      }
    }
    if (total < 0) {
      return Map.of();
    }
    Map<String, Long> out = new LinkedHashMap<>();
    for (String g : GROUPS) {
      out.put(g, groups.getOrDefault(g, 0L));
    }
    out.put("total", total);
    return out;
  }

  static String group(String category) {
    switch (category) {
      case "Java Heap":
        return "heap";
      case "Class":
      case "Metaspace":
      case "Shared class space":
        return "class/metaspace";
      case "Code":
        return "code";
      case "Thread":
      case "Thread Stack":
        return "threads";
      case "Other":
        return "direct (Other)";
      default:
        return "other";
    }
  }

  /** Runs {@code jcmd <pid> VM.native_memory summary} of this JDK; an empty map when it fails. */
  static Map<String, Long> of(long pid) {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    ProcessBuilder pb =
        new ProcessBuilder(jcmd.toString(), Long.toString(pid), "VM.native_memory", "summary").redirectErrorStream(true);
    // jcmd is a JVM too: it must not carry an agent of its own.
    pb.environment().remove("JAVA_TOOL_OPTIONS");
    try {
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return Map.of();
      }
      Map<String, Long> parsed = parse(out);
      if (parsed.isEmpty()) {
        System.out.println("  jcmd " + pid + " VM.native_memory summary gave no summary: " + out.strip());
      }
      return parsed;
    } catch (IOException e) {
      System.out.println("  jcmd " + pid + " failed: " + e);
      return Map.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Map.of();
    }
  }
}
