package io.jmesh.agent;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLConnection;
import java.net.URLStreamHandler;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.security.cert.Certificate;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;

/**
 * Loads the agent's own classes (the runtime, the instrumentation and every relocated
 * third-party library) and resources from the jar's {@link AgentPack}, which the system class
 * loader, which also sees the agent jar, can never load from. Its parent is the platform class
 * loader: the application's classes are invisible to it, and the bridge on the bootstrap path is
 * visible.
 *
 * <p>Memory: file mode defines about 2,150 classes here at start-up, so a class read allocates
 * one array of the class's exact size and nothing else (see {@link AgentPack}). Resources come
 * from the pack too, as streams over their bytes, and as URLs of the scheme {@value
 * #URL_PROTOCOL} whose handler reads the pack (no global {@code URLStreamHandlerFactory}).
 *
 * <p>Thread-safety: parallel capable; pack reads are thread-safe.
 */
final class AgentClassLoader extends ClassLoader {
  static final String URL_PROTOCOL = "jmesh-pack";

  static {
    registerAsParallelCapable();
  }

  private final AgentPack pack;
  private final String jarPath;
  private final PackHandler handler;
  private final ProtectionDomain domain;

  /**
   * Opens the pack of {@code jarFile}.
   *
   * @throws IOException naming the jar and what was expected, when its pack is missing or damaged
   */
  AgentClassLoader(File jarFile, ClassLoader parent) throws IOException {
    super("jmesh-agent", parent);
    this.pack = AgentPack.open(jarFile);
    this.jarPath = jarFile.getAbsolutePath();
    this.handler = new PackHandler(pack);
    this.domain =
        new ProtectionDomain(
            new CodeSource(jarFile.toURI().toURL(), (Certificate[]) null), null, this, null);
  }

  /**
   * Loads this class and every launcher class it uses (none is loaded lazily later) through the
   * system class loader, and returns this class. {@link JmeshAgent} calls it before it appends the
   * jar to the bootstrap path: after that, a first reference would resolve to a second copy in the
   * bootstrap loader, in another runtime package, and fail with an {@link IllegalAccessError}.
   */
  static Class<?> loadLauncherClasses() {
    // Each class literal resolves through this class's loader when it runs.
    Class<?>[] used = {AgentPack.class, AgentPack.Slot.class, PackHandler.class, PackConnection.class};
    return used.length > 0 ? AgentClassLoader.class : null;
  }

  @Override
  protected Class<?> findClass(String name) throws ClassNotFoundException {
    String member = name.replace('.', '/') + ".class";
    byte[] bytes;
    try {
      bytes = pack.read(member);
    } catch (IOException e) {
      throw new ClassNotFoundException(name + " (" + e.getMessage() + ")", e);
    }
    if (bytes == null) {
      throw new ClassNotFoundException(name);
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

  /** A URL for the member, {@code jmesh-pack:/path/jmesh-agent.jar!/name}, or null when it is absent. */
  @Override
  protected URL findResource(String name) {
    try {
      if (!pack.contains(name)) {
        return null;
      }
      return new URL(URL_PROTOCOL, null, -1, jarPath + "!/" + name, handler);
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Parent first, as {@link ClassLoader#getResourceAsStream} does, then the member's bytes from
   * the pack. ByteBuddy reads every advice and helper class through here.
   */
  @Override
  public InputStream getResourceAsStream(String name) {
    if (getParent().getResource(name) != null) {
      return super.getResourceAsStream(name);
    }
    try {
      byte[] bytes = pack.read(name);
      return bytes == null ? null : new ByteArrayInputStream(bytes);
    } catch (IOException e) {
      return null;
    }
  }

  @Override
  protected Enumeration<URL> findResources(String name) {
    URL url = findResource(name);
    return url == null ? Collections.emptyEnumeration() : Collections.enumeration(List.of(url));
  }

  /** Opens {@value #URL_PROTOCOL} URLs of one pack; the member is the part after {@code !/}. */
  private static final class PackHandler extends URLStreamHandler {
    private final AgentPack pack;

    PackHandler(AgentPack pack) {
      this.pack = pack;
    }

    @Override
    protected URLConnection openConnection(URL url) throws IOException {
      String file = url.getFile();
      int sep = file.lastIndexOf("!/");
      if (sep < 0) {
        throw new MalformedURLException(url + ": no !/ before the member name (expected: " + URL_PROTOCOL
            + ":<jar>!/<name>)");
      }
      return new PackConnection(url, pack, file.substring(sep + 2));
    }
  }

  /** A member's bytes, read from the pack when connected. */
  private static final class PackConnection extends URLConnection {
    private final AgentPack pack;
    private final String member;
    private byte[] bytes;

    PackConnection(URL url, AgentPack pack, String member) {
      super(url);
      this.pack = pack;
      this.member = member;
    }

    @Override
    public void connect() throws IOException {
      if (bytes == null) {
        bytes = pack.read(member);
        if (bytes == null) {
          throw new FileNotFoundException(url + " (no member " + member + " in " + pack + ")");
        }
        connected = true;
      }
    }

    @Override
    public InputStream getInputStream() throws IOException {
      connect();
      return new ByteArrayInputStream(bytes);
    }

    @Override
    public long getContentLengthLong() {
      try {
        connect();
        return bytes.length;
      } catch (IOException e) {
        return -1;
      }
    }
  }
}
