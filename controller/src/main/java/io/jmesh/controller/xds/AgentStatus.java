package io.jmesh.controller.xds;

import com.google.protobuf.Struct;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the controller knows of one connected agent: one ADS stream, the node it announced and, per
 * resource type, what was sent and what the agent did with it. An immutable copy taken at one
 * moment; the admin API renders it as {@code /agents}.
 *
 * @param streamId the stream's number in this controller process, unique while it runs
 * @param nodeId {@code node.id} of the first request that carried a node; null while none did
 * @param nodeCluster {@code node.cluster}; null while no request carried a node
 * @param userAgent {@code node.user_agent_name} and {@code user_agent_version}; null when unset
 * @param metadata {@code node.metadata}; the empty struct when unset
 * @param remoteAddress the peer's address as the transport saw it, for example {@code
 *     127.0.0.1:53422}; null if unknown
 * @param identity the SPIFFE id of the client certificate the stream's connection presented,
 *     verified against the CA's anchors; null when it presented none (plaintext, or an agent
 *     before its first certificate)
 * @param connectedSince when the stream opened
 * @param types per resource type the agent asked for, keyed by short names ({@code listener},
 *     {@code route}, {@code cluster}, {@code endpoint}, in that order; another type by its type
 *     URL)
 */
public record AgentStatus(
    long streamId,
    String nodeId,
    String nodeCluster,
    String userAgent,
    Struct metadata,
    String remoteAddress,
    String identity,
    Instant connectedSince,
    Map<String, TypeStatus> types) {

  public AgentStatus {
    Objects.requireNonNull(metadata, "metadata");
    Objects.requireNonNull(connectedSince, "connectedSince");
    types = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(types));
  }

  /**
   * The state of one resource type on one stream.
   *
   * @param typeUrl the full type URL, for example {@code
   *     type.googleapis.com/envoy.config.cluster.v3.Cluster}
   * @param subscribed the resource names of the agent's latest request; empty means all (wildcard)
   * @param servedVersion the version of this type the controller serves the stream's group now
   *     (each type keeps the version it last changed in); null before the first snapshot. The
   *     agent is in sync on this type when it has ACKed this version
   * @param sentVersion the version of the last response sent; null while none was
   * @param sentNonce the nonce of the last response sent; null while none was
   * @param sentAt when the last response was sent; null while none was
   * @param sentResources how many resources the last response carried
   * @param ackedVersion the version the agent last accepted on this stream; null while none
   * @param ackedAt when it accepted it; null while it did not
   * @param nacked whether the agent rejected the last response sent
   * @param lastNack the last rejection on this stream, kept after a later version is accepted so
   *     that the reason stays visible; null if the agent never rejected one
   */
  public record TypeStatus(
      String typeUrl,
      List<String> subscribed,
      String servedVersion,
      String sentVersion,
      String sentNonce,
      Instant sentAt,
      int sentResources,
      String ackedVersion,
      Instant ackedAt,
      boolean nacked,
      Nack lastNack) {
    public TypeStatus {
      Objects.requireNonNull(typeUrl, "typeUrl");
      subscribed = List.copyOf(subscribed);
    }

    /** Whether the agent asked for every resource of the type (no names, or {@code *}). */
    public boolean wildcard() {
      return subscribed.isEmpty() || subscribed.contains("*");
    }
  }

  /**
   * One rejected response.
   *
   * @param version the version the agent rejected
   * @param code the gRPC status code of {@code error_detail}, as a number (0 if the agent left it)
   * @param message {@code error_detail.message}: why the agent rejected it
   * @param at when the rejection arrived
   */
  public record Nack(String version, int code, String message, Instant at) {
    public Nack {
      Objects.requireNonNull(message, "message");
      Objects.requireNonNull(at, "at");
    }
  }
}
