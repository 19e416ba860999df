package io.jmesh.smoke.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;

/**
 * CPU time and resident memory of other processes, read from {@code /proc/<pid>/stat} and {@code
 * /proc/<pid>/status}: how the benchmark charges the server and the proxies for their work. Every
 * method returns -1 where the file is missing (not Linux, or the process has ended) rather than
 * failing, because the benchmark is a report and a missing figure prints as {@code n/a}.
 */
final class ProcStat {
  /**
   * Linux reports CPU time in ticks of USER_HZ, which the kernel's ABI fixes at 100 on every
   * mainstream architecture whatever CONFIG_HZ is (what {@code getconf CLK_TCK} prints).
   */
  static final long TICKS_PER_SECOND = 100;

  private ProcStat() {}

  /** User plus system CPU ticks of {@code pid} so far; -1 when unknown. */
  static long cpuTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
      // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
      // f[0] is field 3 (state); utime and stime are fields 14 and 15.
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The sum of {@link #cpuTicks} over {@code pids}; -1 when any is unknown. */
  static long cpuTicks(Collection<Long> pids) {
    long sum = 0;
    for (long pid : pids) {
      long t = cpuTicks(pid);
      if (t < 0) {
        return -1;
      }
      sum += t;
    }
    return sum;
  }

  /** {@code VmRSS} of {@code pid} in KiB; -1 when unknown. */
  static long rssKb(long pid) {
    return statusField(pid, "VmRSS:");
  }

  /** The number of threads of {@code pid} ({@code Threads:} in its status); -1 when unknown. */
  static long threads(long pid) {
    return statusField(pid, "Threads:");
  }

  private static long statusField(long pid, String field) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"), StandardCharsets.US_ASCII)) {
        if (l.startsWith(field)) {
          return Long.parseLong(l.substring(field.length()).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException | RuntimeException e) {
      // Falls through to unknown.
    }
    return -1;
  }

  /** The sum of {@link #rssKb} over {@code pids}; 0 for none, -1 when any is unknown. */
  static long rssKb(Collection<Long> pids) {
    long sum = 0;
    for (long pid : pids) {
      long kb = rssKb(pid);
      if (kb < 0) {
        return -1;
      }
      sum += kb;
    }
    return sum;
  }
}
