package io.jmesh.controller.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.UInt32Value;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.jmesh.runtime.config.Backend;
import io.jmesh.runtime.config.GrpcRetryConditions;
import io.jmesh.runtime.config.HeaderMatch;
import io.jmesh.runtime.config.HeaderModifier;
import io.jmesh.runtime.config.QueryParamMatch;
import io.jmesh.runtime.config.RequestMirror;
import io.jmesh.runtime.config.UrlRewrite;
import io.jmesh.runtime.config.PathMatch;
import io.jmesh.runtime.config.Route;
import io.jmesh.runtime.config.RouteMatch;
import io.jmesh.runtime.config.RoutePolicy;
import io.jmesh.runtime.xds.XdsNames;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The RouteConfiguration of one service, for {@link XdsTranslator}: one virtual host, one xDS route
 * per match of each jmesh route (weighted clusters by subset, timeout, retry policy, per-route
 * fault, header edits, rewrites), then the default route to every endpoint.
 *
 * <p>Pure functions; thread-safety: stateless.
 */
final class RouteConfigurationTranslator {
  /** Fault percentages travel as parts per million: four decimals of a percent survive. */
  static final int PER_MILLION_PER_PERCENT = 10_000;

  private RouteConfigurationTranslator() {}

  static RouteConfiguration routeConfiguration(String name, List<Route> routes) {
    VirtualHost.Builder host = VirtualHost.newBuilder().setName(name).addDomains("*");
    for (Route route : routes) {
      for (RouteMatch match : route.matches()) {
        host.addRoutes(route(name, route, match));
      }
    }
    host.addRoutes(defaultRoute(name));
    return RouteConfiguration.newBuilder().setName(name).addVirtualHosts(host).build();
  }

  /**
   * What the runtime does after the service's own routes: every endpoint, default policy. Sent so
   * that any xDS client (a proxyless gRPC one too) routes the same; the decoder drops it again.
   */
  static io.envoyproxy.envoy.config.route.v3.Route defaultRoute(String cluster) {
    return io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
        .setName(XdsNames.DEFAULT_ROUTE)
        .setMatch(io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder().setPrefix("/"))
        .setRoute(action(RouteAction.newBuilder().setCluster(cluster), RoutePolicy.DEFAULT))
        .setPerRequestBufferLimitBytes(
            UInt32Value.of(RoutePolicy.DEFAULT.retry().maxReplayBytes()))
        .build();
  }

  /** One xDS route per match: xDS routes have one match each, jmesh's a list. */
  static io.envoyproxy.envoy.config.route.v3.Route route(
      String cluster, Route route, RouteMatch match) {
    io.envoyproxy.envoy.config.route.v3.Route.Builder out =
        io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
            .setName(route.name())
            .setMatch(match(match));
    WeightedCluster.Builder weighted = WeightedCluster.newBuilder();
    for (Backend backend : route.backends()) {
      WeightedCluster.ClusterWeight.Builder w =
          WeightedCluster.ClusterWeight.newBuilder()
              .setName(cluster)
              .setWeight(UInt32Value.of(backend.weight()));
      if (!backend.subset().isEmpty()) {
        w.setMetadataMatch(XdsValues.lbMetadata(backend.subset()));
      }
      weighted.addClusters(w);
    }
    RoutePolicy policy = route.policy();
    RouteAction.Builder action = RouteAction.newBuilder().setWeightedClusters(weighted);
    rewrite(action, route.filters().rewrite());
    mirror(action, route.filters().mirror());
    out.setRoute(action(action, policy));
    HeaderModifier request = route.filters().requestHeaders();
    out.addAllRequestHeadersToAdd(headersToAdd(request)).addAllRequestHeadersToRemove(request.remove());
    HeaderModifier response = route.filters().responseHeaders();
    out.addAllResponseHeadersToAdd(headersToAdd(response)).addAllResponseHeadersToRemove(response.remove());
    out.setPerRequestBufferLimitBytes(UInt32Value.of(policy.retry().maxReplayBytes()));
    if (policy.retry().nonIdempotent()) {
      out.setMetadata(
          Metadata.newBuilder()
              .putFilterMetadata(
                  XdsNames.JMESH_METADATA,
                  Struct.newBuilder()
                      .putFields("retry_non_idempotent", Value.newBuilder().setBoolValue(true).build())
                      .build()));
    }
    if (!policy.fault().isNone()) {
      out.putTypedPerFilterConfig(XdsNames.FAULT_FILTER, Any.pack(fault(policy.fault())));
    }
    return out.build();
  }

  static io.envoyproxy.envoy.config.route.v3.RouteMatch match(RouteMatch match) {
    io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder out =
        io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder();
    PathMatch path = match.path();
    switch (path.type()) {
      case PREFIX -> out.setPrefix(path.value());
      case EXACT -> out.setPath(path.value());
      case REGEX -> out.setSafeRegex(RegexMatcher.newBuilder().setRegex(path.value()));
    }
    if (match.method() != null) {
      out.addHeaders(
          HeaderMatcher.newBuilder()
              .setName(":method")
              .setStringMatch(StringMatcher.newBuilder().setExact(match.method())));
    }
    for (HeaderMatch header : match.headers()) {
      StringMatcher.Builder value = StringMatcher.newBuilder();
      switch (header.type()) {
        case EXACT -> value.setExact(header.value());
        case REGEX -> value.setSafeRegex(RegexMatcher.newBuilder().setRegex(header.value()));
      }
      out.addHeaders(HeaderMatcher.newBuilder().setName(header.name()).setStringMatch(value));
    }
    for (QueryParamMatch query : match.queryParams()) {
      StringMatcher.Builder value = StringMatcher.newBuilder();
      switch (query.type()) {
        case EXACT -> value.setExact(query.value());
        case REGEX -> value.setSafeRegex(RegexMatcher.newBuilder().setRegex(query.value()));
      }
      out.addQueryParameters(QueryParameterMatcher.newBuilder().setName(query.name()).setStringMatch(value));
    }
    return out.build();
  }

  /**
   * Envoy's spelling of a header edit: {@code set} overwrites, {@code add} appends. Envoy applies
   * removals before additions, as the runtime does.
   */
  static List<HeaderValueOption> headersToAdd(HeaderModifier modifier) {
    List<HeaderValueOption> out = new ArrayList<>();
    for (HeaderModifier.Header h : modifier.set()) {
      out.add(option(h, HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD));
    }
    for (HeaderModifier.Header h : modifier.add()) {
      out.add(option(h, HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD));
    }
    return out;
  }

  private static HeaderValueOption option(HeaderModifier.Header h, HeaderValueOption.HeaderAppendAction action) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(h.name()).setValue(h.value()))
        .setAppendAction(action)
        .build();
  }

  /** Envoy's mirror policy: the mirror service's cluster and, below 100 %, the share copied. */
  private static void mirror(RouteAction.Builder action, RequestMirror mirror) {
    if (mirror == null) {
      return;
    }
    RouteAction.RequestMirrorPolicy.Builder p =
        RouteAction.RequestMirrorPolicy.newBuilder().setCluster(XdsNames.service(mirror.service(), mirror.namespace()));
    if (mirror.percent() < 100) {
      p.setRuntimeFraction(RuntimeFractionalPercent.newBuilder().setDefaultValue(perMillion(mirror.percent())));
    }
    action.addRequestMirrorPolicies(p);
  }

  private static void rewrite(RouteAction.Builder action, UrlRewrite rewrite) {
    if (rewrite.hostname() != null) {
      action.setHostRewriteLiteral(rewrite.hostname());
    }
    if (rewrite.pathType() == UrlRewrite.PathType.PREFIX) {
      action.setPrefixRewrite(rewrite.path());
    } else if (rewrite.pathType() == UrlRewrite.PathType.FULL) {
      action.setRegexRewrite(
          RegexMatchAndSubstitute.newBuilder()
              .setPattern(RegexMatcher.newBuilder().setRegex(XdsNames.FULL_PATH_REGEX))
              .setSubstitution(rewrite.path()));
    }
  }

  private static RouteAction action(RouteAction.Builder action, RoutePolicy policy) {
    if (policy.timeout() != null) {
      action.setTimeout(XdsValues.duration(policy.timeout()));
    }
    RoutePolicy.Retry retry = policy.retry();
    List<String> on = new ArrayList<>();
    if (retry.onConnectFailure()) {
      on.add("connect-failure");
    }
    if (retry.onReset()) {
      on.add("reset");
    }
    if (!retry.onStatus().isEmpty()) {
      on.add("retriable-status-codes");
    }
    // Envoy's own gRPC conditions, which match a gRPC attempt's grpc-status.
    on.addAll(GrpcRetryConditions.names(retry.onGrpcStatus()));
    RetryPolicy.Builder retryPolicy =
        RetryPolicy.newBuilder()
            .setRetryOn(String.join(",", on))
            .setNumRetries(UInt32Value.of(retry.attempts() - 1))
            .addAllRetriableStatusCodes(new TreeSet<>(retry.onStatus()))
            .setRetryBackOff(
                RetryPolicy.RetryBackOff.newBuilder()
                    .setBaseInterval(XdsValues.duration(retry.backoffBase()))
                    .setMaxInterval(XdsValues.duration(retry.backoffMax())));
    if (retry.perTryTimeout() != null) {
      retryPolicy.setPerTryTimeout(XdsValues.duration(retry.perTryTimeout()));
    }
    return action.setRetryPolicy(retryPolicy).build();
  }

  static HTTPFault fault(RoutePolicy.Fault fault) {
    HTTPFault.Builder out = HTTPFault.newBuilder();
    if (fault.abortPercent() > 0) {
      out.setAbort(
          FaultAbort.newBuilder()
              .setHttpStatus(fault.abortStatus())
              .setPercentage(perMillion(fault.abortPercent())));
    }
    if (fault.delayPercent() > 0) {
      out.setDelay(
          FaultDelay.newBuilder()
              .setFixedDelay(XdsValues.duration(fault.delay()))
              .setPercentage(perMillion(fault.delayPercent())));
    }
    return out.build();
  }

  private static FractionalPercent perMillion(double percent) {
    return FractionalPercent.newBuilder()
        .setNumerator((int) Math.round(percent * PER_MILLION_PER_PERCENT))
        .setDenominator(FractionalPercent.DenominatorType.MILLION)
        .build();
  }
}
