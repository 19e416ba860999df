package io.jmesh.agent.tooling;

import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.nameEndsWith;
import static net.bytebuddy.matcher.ElementMatchers.takesArgument;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import io.jmesh.agent.tooling.TypeInstrumentation.AdviceBinding;
import java.util.List;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.matcher.ElementMatcher;

/**
 * Inbound capture's weaving: every server-socket bind of the JDK and of Netty's native epoll
 * transport (see {@link BindCapture}).
 *
 * <ul>
 *   <li>{@code sun.nio.ch.ServerSocketChannelImpl.bind(SocketAddress, int)}: NIO servers, the JDK
 *       {@code HttpServer}, Tomcat, Jetty, Undertow, Netty NIO, grpc-netty(-shaded) on NIO. The
 *       channel's {@code socket()} adaptor overrides {@code ServerSocket.bind} and calls this
 *       method, so such a bind is seen once.
 *   <li>{@code java.net.ServerSocket.bind(SocketAddress, int)}: a plain {@code ServerSocket}
 *       (since JDK 13 its {@code NioSocketImpl} binds through {@code sun.nio.ch.Net}, not the
 *       channel, on JDK 17 and 25 alike); its constructors with a port call it.
 *   <li>{@code io.netty.channel.unix.Socket.bind(SocketAddress)}, also relocated (grpc-netty-shaded's
 *       {@code io.grpc.netty.shaded.io.netty...}); the agent's own {@code io.jmesh.shaded} copy is
 *       never woven.
 * </ul>
 *
 * <p>The JDK's two closes ({@code implCloseSelectableChannel}, {@code ServerSocket.close}) stop the
 * mesh listener of a captured port. Not woven: io_uring, UDP, JNI servers.
 *
 * <p>Woven early, before the agent's admin endpoint opens (it binds through the same JDK class),
 * unlike the client instrumentations; see {@link AgentInstaller}.
 */
final class InboundCaptureModule implements InstrumentationModule {
  static final String NAME = "inbound-capture";
  static final String NIO_CHANNEL = "sun.nio.ch.ServerSocketChannelImpl";
  static final String SERVER_SOCKET = "java.net.ServerSocket";
  /**
   * Built at run time: the agent jar relocates {@code io.netty} to {@code io.jmesh.shaded.io.netty}
   * in every class, string constants included, and this name must stay the application's.
   */
  static final String NETTY_SOCKET = String.join(".", "io", "netty", "channel", "unix", "Socket");

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String supportedVersions() {
    return "JDK 11 and later (tested on 17 and 25); Netty epoll 4.1 and 4.2, plain or relocated";
  }

  @Override
  public List<TypeInstrumentation> typeInstrumentations() {
    return List.of(
        TypeInstrumentation.of(
            NIO_CHANNEL,
            new AdviceBinding(bindWithBacklog(), ServerBindAdvice.class),
            new AdviceBinding(named("implCloseSelectableChannel").and(takesArguments(0)), ServerCloseAdvice.class)),
        TypeInstrumentation.of(
            SERVER_SOCKET,
            new AdviceBinding(bindWithBacklog(), ServerBindAdvice.class),
            new AdviceBinding(named("close").and(takesArguments(0)), ServerCloseAdvice.class)),
        new TypeInstrumentation() {
          @Override
          public String typeName() {
            return NETTY_SOCKET;
          }

          @Override
          public ElementMatcher<TypeDescription> typeMatcher() {
            // The installer ignores io.jmesh.*, so the agent's relocated Netty is never matched.
            return named(NETTY_SOCKET).or(nameEndsWith("." + NETTY_SOCKET));
          }

          @Override
          public List<AdviceBinding> adviceBindings() {
            return List.of(
                new AdviceBinding(
                    named("bind").and(takesArguments(1)).and(takesArgument(0, named("java.net.SocketAddress"))),
                    ServerBindAdvice.class));
          }
        });
  }

  private static ElementMatcher.Junction<net.bytebuddy.description.method.MethodDescription> bindWithBacklog() {
    return named("bind")
        .and(takesArguments(2))
        .and(takesArgument(0, named("java.net.SocketAddress")))
        .and(takesArgument(1, int.class));
  }

  /** Whether {@code internalName} (slashes) is one of the woven types, relocated or not. */
  static boolean isTarget(String internalName) {
    if (internalName.equals("sun/nio/ch/ServerSocketChannelImpl") || internalName.equals("java/net/ServerSocket")) {
      return true;
    }
    String netty = NETTY_SOCKET.replace('.', '/');
    return internalName.equals(netty)
        || (internalName.endsWith("/" + netty) && !internalName.startsWith("io/jmesh/"));
  }
}
