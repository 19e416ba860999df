package io.jmesh.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.jmesh.controller.ca.CertificateAuthority;
import io.jmesh.controller.ca.Csrs;
import io.jmesh.controller.source.MeshViews;
import io.jmesh.controller.xds.XdsTranslator;
import io.jmesh.runtime.config.MeshConfigParser;
import io.jmesh.runtime.config.MeshSnapshot;
import io.jmesh.runtime.identity.SpiffeId;
import io.jmesh.runtime.xds.XdsNames;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-namespace views over real mTLS: a controller with its CA, three ADS streams on loopback —
 * two presenting workload certificates of namespaces {@code shop} and {@code web}, one presenting
 * none — each getting what its verified namespace may see ({@code jmesh.io/export-to}, consumer
 * routes), whatever its node says.
 */
class XdsViewsIT {
  private static final String LDS = XdsNames.LISTENER_TYPE;
  private static final String RDS = XdsNames.ROUTE_TYPE;

  // catalog: everyone; cart: shop only; orders: shop and web.
  private static final String MESH =
      """
      services:
        - name: catalog
          namespace: shop
          ports: [80]
          endpoints: [{address: 127.0.0.2, port: 8080, labels: {app: catalog}}]
        - name: cart
          namespace: shop
          ports: [80]
          endpoints: [{address: 127.0.0.3, port: 8080}]
        - name: orders
          namespace: shop
          ports: [80]
          endpoints: [{address: 127.0.0.4, port: 8080}]
      """;

  // One more Service, for everyone (to be appended to MESH).
  private static final String EXTRA =
      """
        - name: extra
          namespace: shop
          ports: [80]
          endpoints: [{address: 127.0.0.5, port: 8080}]
      """;

  // web's consumer route on catalog.
  private static final String WEB_CATALOG =
      """
      services:
        - name: catalog
          namespace: shop
          ports: [80]
          endpoints: [{address: 127.0.0.2, port: 8080, labels: {app: catalog}}]
          routes:
            - name: web-consumer-route
              matches: [{path: {prefix: /web}}]
              backends: [{subset: {app: catalog}, weight: 1}]
      """;

  @TempDir Path dir;
  private final ManualMeshSource source = new ManualMeshSource();
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private Controller controller;
  private CertificateAuthority ca;

  @BeforeEach
  void start() throws Exception {
    controller =
        Controller.start(
            Controller.Options.defaults(Path.of("unused.yaml"))
                .withXdsAddress("127.0.0.1", 0)
                .withAdminAddress("127.0.0.1", 0)
                .withCaDir(dir.resolve("ca")),
            source,
            s -> XdsTranslator.translate(s, "cluster.local"));
    // The controller's CA, read from its directory: it signs the workloads' certificates here.
    ca = CertificateAuthority.loadOrCreate(dir.resolve("ca"), "cluster.local", Clock.systemUTC());
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    controller.close();
  }

  @Test
  void eachStreamGetsTheViewOfItsVerifiedNamespace() throws Exception {
    // shop connects before there is anything to serve: the first push brings its view.
    AdsClient shop = stream("spiffe://cluster.local/ns/shop/sa/cart");
    // Its node claims web: the certificate decides, not the node.
    shop.subscribe(node("web"), LDS, List.of());

    source.push(snapshot(MESH, "v1"), views());

    DiscoveryResponse shopLds = shop.next(LDS);
    assertThat(listeners(shopLds)).containsExactly("cart.shop", "catalog.shop", "orders.shop");

    // web connects after: its first request gets its view at once, of the same version.
    AdsClient web = stream("spiffe://cluster.local/ns/web/sa/frontend");
    web.subscribe(node("web"), LDS, List.of());
    DiscoveryResponse webLds = web.next(LDS);
    assertThat(listeners(webLds)).containsExactly("catalog.shop", "orders.shop");
    // Each type's version is the source version; a view that differs from the public one
    // names its namespace, so that no version means two contents.
    assertThat(shopLds.getVersionInfo()).isEqualTo("v1/shop");
    assertThat(webLds.getVersionInfo()).isEqualTo("v1/web");

    // No client certificate: the public view, even with a node that claims shop.
    AdsClient anonymous = stream(null);
    anonymous.subscribe(node("shop"), LDS, List.of());
    DiscoveryResponse publicLds = anonymous.next(LDS);
    assertThat(listeners(publicLds)).containsExactly("catalog.shop");
    assertThat(publicLds.getVersionInfo()).isEqualTo("v1");

    // An agent of web that had the public view reconnects with its certificate, naming the
    // version it holds: its view differs, so it is sent at once.
    AdsClient webResumed = stream("spiffe://cluster.local/ns/web/sa/frontend");
    webResumed.resume(node("web"), LDS, List.of(), publicLds.getVersionInfo());
    assertThat(listeners(webResumed.next(LDS))).containsExactly("catalog.shop", "orders.shop");

    // Routes: web's consumer route is web's alone.
    web.subscribe(node("web"), RDS, List.of());
    shop.subscribe(node("web"), RDS, List.of());
    anonymous.subscribe(node("shop"), RDS, List.of());
    assertThat(routeNames(web.next(RDS))).contains("web-consumer-route");
    assertThat(routeNames(shop.next(RDS))).doesNotContain("web-consumer-route").isNotEmpty();
    assertThat(routeNames(anonymous.next(RDS))).doesNotContain("web-consumer-route").isNotEmpty();

    // One update refreshes every group: orders is no longer exported to web. Only web's
    // Listeners change: they are now the public view's, and carry its version (v1: unchanged
    // since). shop's and the public view's are unchanged and not sent again.
    shop.ack(shopLds, List.of());
    web.ack(webLds, List.of());
    anonymous.ack(publicLds, List.of());
    source.push(
        snapshot(MESH, "v2"),
        new MeshViews(
            Map.of("cart.shop", Set.of("shop"), "orders.shop", Set.of("shop")),
            Map.of("web", snapshot(WEB_CATALOG, "v2").services())));
    DiscoveryResponse webLds2 = web.next(LDS);
    assertThat(listeners(webLds2)).containsExactly("catalog.shop");
    assertThat(webLds2.getVersionInfo()).isEqualTo(publicLds.getVersionInfo());
    web.ack(webLds2, List.of());

    // A new Service for everyone: every group's Listeners change, and the next Listener response
    // of shop and of the public view is this one (none came for v2).
    source.push(
        snapshot(MESH + EXTRA, "v3"),
        new MeshViews(
            Map.of("cart.shop", Set.of("shop"), "orders.shop", Set.of("shop")),
            Map.of("web", snapshot(WEB_CATALOG, "v3").services())));
    DiscoveryResponse shopLds3 = shop.next(LDS);
    DiscoveryResponse publicLds3 = anonymous.next(LDS);
    DiscoveryResponse webLds3 = web.next(LDS);
    assertThat(listeners(shopLds3))
        .containsExactly("cart.shop", "catalog.shop", "extra.shop", "orders.shop");
    assertThat(shopLds3.getVersionInfo()).isEqualTo("v3/shop");
    assertThat(listeners(publicLds3)).containsExactly("catalog.shop", "extra.shop");
    assertThat(publicLds3.getVersionInfo()).isEqualTo("v3");
    assertThat(listeners(webLds3)).containsExactly("catalog.shop", "extra.shop");
    assertThat(webLds3.getVersionInfo()).isEqualTo("v3");
  }

  private static MeshViews views() {
    return new MeshViews(
        Map.of("cart.shop", Set.of("shop"), "orders.shop", Set.of("shop", "web")),
        Map.of("web", snapshot(WEB_CATALOG, "v1").services()));
  }

  private static MeshSnapshot snapshot(String yaml, String version) {
    try {
      return new MeshSnapshot(
          version, MeshConfigParser.parse("mesh.yaml", yaml, "default").services());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** A node that claims {@code namespace}: the server must not believe it. */
  private static io.envoyproxy.envoy.config.core.v3.Node node(String namespace) {
    return AdsClient.node("agent-of-" + namespace).toBuilder()
        .setCluster("hello." + namespace)
        .build();
  }

  /** An ADS stream over TLS, presenting a workload certificate for {@code spiffeId} if not null. */
  private AdsClient stream(String spiffeId) throws Exception {
    SslContextBuilder tls =
        GrpcSslContexts.forClient().trustManager(ca.anchors().toArray(X509Certificate[]::new));
    if (spiffeId != null) {
      KeyPair keys = Csrs.keyPair();
      List<String> chain =
          ca.sign(Csrs.forUris(keys, spiffeId), SpiffeId.parse(spiffeId), null);
      List<X509Certificate> certificates = new ArrayList<>();
      for (String pem : chain) {
        certificates.add(Csrs.certificate(pem));
      }
      tls.keyManager(keys.getPrivate(), certificates.toArray(X509Certificate[]::new));
    }
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", controller.xdsPort())
            .sslContext(tls.build())
            .build();
    AdsClient client = new AdsClient(channel);
    closeables.add(client);
    return client;
  }

  private static Set<String> listeners(DiscoveryResponse lds) throws Exception {
    Set<String> names = new TreeSet<>();
    for (var any : lds.getResourcesList()) {
      // catalog.shop.svc.cluster.local[:80]: the service's qualified name is enough here.
      String name = any.unpack(Listener.class).getName();
      names.add(name.substring(0, name.indexOf(".svc.")));
    }
    return names;
  }

  private static List<String> routeNames(DiscoveryResponse rds) throws Exception {
    List<String> names = new ArrayList<>();
    for (var any : rds.getResourcesList()) {
      for (var host : any.unpack(RouteConfiguration.class).getVirtualHostsList()) {
        host.getRoutesList().stream().map(Route::getName).forEach(names::add);
      }
    }
    return names;
  }
}
