package io.jmesh.controller.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One connected agent as the controller's {@code /agents} lists it.
 *
 * @param name the node id, for example {@code traffic-client-4242}; {@code stream <n>} before the
 *     agent sent one
 * @param service its qualified service, {@code traffic-client.default}; null while unknown
 * @param adminAddress where its admin endpoint answers, {@code host:port}; null when it announced
 *     none (admin endpoint off, or an older agent)
 * @param types per resource type (listener, route, cluster, endpoint), what it did with the last
 *     response: {@code null} while ACKed, else why not
 */
record MeshAgent(String name, String service, String adminAddress, Map<String, String> types) {

  /** The agents of a {@code /agents} document. */
  @SuppressWarnings("unchecked")
  static List<MeshAgent> fromAgentsJson(String json) {
    Map<String, Object> doc = (Map<String, Object>) Json.parse(json);
    List<MeshAgent> out = new ArrayList<>();
    for (Object o : (List<Object>) doc.get("agents")) {
      Map<String, Object> a = (Map<String, Object>) o;
      String id = (String) a.get("nodeId");
      String name = id == null ? "stream " + a.get("streamId") : id;
      String cluster = (String) a.get("nodeCluster");
      Object namespace = ((Map<String, Object>) a.get("metadata")).get("NAMESPACE");
      String service = cluster == null ? null : namespace == null ? cluster : cluster + "." + namespace;
      Map<String, String> types = new LinkedHashMap<>();
      Map<String, Object> t = (Map<String, Object>) a.get("types");
      if (t != null) {
        t.forEach((type, v) -> types.put(type, problem((Map<String, Object>) v)));
      }
      out.add(new MeshAgent(name, service, (String) a.get("adminAddress"), types));
    }
    return out;
  }

  /** Null when the type's last response is ACKed; else what is wrong, in a phrase. */
  @SuppressWarnings("unchecked")
  private static String problem(Map<String, Object> type) {
    Object sent = type.get("sentVersion");
    Object acked = type.get("ackedVersion");
    if (Boolean.TRUE.equals(type.get("nacked"))) {
      Map<String, Object> nack = (Map<String, Object>) type.get("lastNack");
      return "NACKed version " + sent + (nack == null ? "" : ": " + nack.get("message"))
          + "; runs " + (acked == null ? "nothing" : "version " + acked);
    }
    if (sent == null) {
      // A stream that resumed with the version the controller serves is sent nothing until the
      // next one; the agent runs what it names (acked). Another version would be answered at once.
      if (acked == null) {
        return "nothing sent yet";
      }
    } else if (!sent.equals(acked)) {
      return "version " + sent + " sent, not ACKed yet (ACKed: " + acked + ")";
    }
    // Each type keeps the version it last changed in; the agent is in sync on a type when it runs
    // the version the controller serves it now (absent from older controllers).
    Object served = type.get("servedVersion");
    if (served != null && !served.equals(acked)) {
      return "runs version " + acked + ", the controller serves " + served + " (not sent yet)";
    }
    return null;
  }

  /** {@code traffic-client-4242 (traffic-client.default)}. */
  String label() {
    return service == null ? name : name + " (" + service + ")";
  }
}
