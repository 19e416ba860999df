package io.jmesh.agent;

import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.net.URL;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.security.cert.Certificate;
import java.util.Collections;
import java.util.Enumeration;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;

/**
 * Loads the agent's own classes (the runtime, the instrumentation and every relocated
 * third-party library), stored under {@code inst/} with the suffix {@code .classdata} so that the
 * system class loader, which also sees the agent jar, can never load them. Its parent is the
 * platform class loader: the application's classes are invisible to it, and the bridge on the
 * bootstrap path is visible.
 *
 * <p>Memory: file mode defines about 2,150 classes here at start-up, so a class read allocates
 * one array of the class's exact size and nothing else. Two 8 KiB buffers per class were about
 * 34 MiB of start-up garbage, and the young generation it grew stayed resident. Resources are
 * streamed from the open jar, not through a {@code jar:} URL connection and its cache.
 *
 * <p>Thread-safety: parallel capable; {@link JarFile} reads are thread-safe.
 */
final class AgentClassLoader extends ClassLoader {
  static final String PREFIX = "inst/";
  static final String CLASS_SUFFIX = ".classdata";

  static {
    registerAsParallelCapable();
  }

  private final JarFile jar;
  private final String jarUrl;
  private final ProtectionDomain domain;

  AgentClassLoader(File jarFile, ClassLoader parent) throws IOException {
    super("jmesh-agent", parent);
    this.jar = new JarFile(jarFile, false);
    this.jarUrl = "jar:" + jarFile.toURI() + "!/";
    this.domain =
        new ProtectionDomain(
            new CodeSource(jarFile.toURI().toURL(), (Certificate[]) null), null, this, null);
  }

  @Override
  protected Class<?> findClass(String name) throws ClassNotFoundException {
    String entryName = PREFIX + name.replace('.', '/') + CLASS_SUFFIX;
    JarEntry entry = jar.getJarEntry(entryName);
    if (entry == null) {
      throw new ClassNotFoundException(name);
    }
    byte[] bytes;
    try (InputStream in = jar.getInputStream(entry)) {
      bytes = read(in, entry.getSize());
    } catch (IOException e) {
      throw new ClassNotFoundException(name + " (reading " + entryName + ")", e);
    }
    definePackageFor(name);
    return defineClass(name, bytes, 0, bytes.length, domain);
  }

  private void definePackageFor(String className) {
    int dot = className.lastIndexOf('.');
    if (dot < 0) {
      return;
    }
    String pkg = className.substring(0, dot);
    if (getDefinedPackage(pkg) == null) {
      try {
        definePackage(pkg, null, null, null, null, null, null, null);
      } catch (IllegalArgumentException raced) {
        // Another thread defined it first.
      }
    }
  }

  /** Maps {@code a/B.class} to {@code inst/a/B.classdata}, any other name to {@code inst/name}. */
  static String entryFor(String resource) {
    if (resource.endsWith(".class")) {
      return PREFIX + resource.substring(0, resource.length() - 6) + CLASS_SUFFIX;
    }
    return PREFIX + resource;
  }

  @Override
  protected URL findResource(String name) {
    String entryName = entryFor(name);
    if (jar.getJarEntry(entryName) == null) {
      return null;
    }
    try {
      return new URL(jarUrl + entryName);
    } catch (MalformedURLException e) {
      return null;
    }
  }

  /**
   * Parent first, as {@link ClassLoader#getResourceAsStream} does, then the entry straight from
   * the jar. ByteBuddy reads every advice and helper class through here.
   */
  @Override
  public InputStream getResourceAsStream(String name) {
    JarEntry entry = jar.getJarEntry(entryFor(name));
    if (entry == null || getParent().getResource(name) != null) {
      return super.getResourceAsStream(name);
    }
    try {
      return jar.getInputStream(entry);
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  protected Enumeration<URL> findResources(String name) {
    URL url = findResource(name);
    return url == null ? Collections.emptyEnumeration() : Collections.enumeration(java.util.List.of(url));
  }

  /** Reads an entry of known {@code size} into one exact array; an unknown size reads to the end. */
  static byte[] read(InputStream in, long size) throws IOException {
    if (size < 0 || size > Integer.MAX_VALUE - 8) {
      return in.readAllBytes();
    }
    byte[] bytes = new byte[(int) size];
    int off = 0;
    while (off < bytes.length) {
      int n = in.read(bytes, off, bytes.length - off);
      if (n < 0) {
        throw new EOFException("entry ended after " + off + " bytes (expected: " + size + ")");
      }
      off += n;
    }
    return bytes;
  }
}
