package io.jmesh.smoke;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link Kubelet}'s pure steps: Kubernetes' {@code $(…)} expansion and the path mapping. */
class KubeletTest {
  @Test
  void expandsOnlyDefinedNamesAndUnescapesDoubleDollars() {
    Map<String, String> defined = new LinkedHashMap<>();
    defined.put("POD_NAME", "web-1");
    defined.put("EMPTY", "");

    assertThat(Kubelet.expand("-Dpod=$(POD_NAME) -Dx=$(EMPTY)!", defined)).isEqualTo("-Dpod=web-1 -Dx=!");
    // Undefined (or defined later): left as written, as Kubernetes does.
    assertThat(Kubelet.expand("$(LATER) $(POD_NAME)", defined)).isEqualTo("$(LATER) web-1");
    assertThat(Kubelet.expand("$$(POD_NAME) costs $$5", defined)).isEqualTo("$(POD_NAME) costs $5");
    // A lone $ and an unclosed reference are kept.
    assertThat(Kubelet.expand("a$b $(POD_NAME", defined)).isEqualTo("a$b $(POD_NAME");
    assertThat(Kubelet.expand("$$$(POD_NAME)", defined)).isEqualTo("$web-1");
  }

  @Test
  void rewritesWholePathsOnlyLongestFirst() {
    Map<String, Path> paths = new LinkedHashMap<>();
    paths.put("/var/run/jmesh", Path.of("/tmp/k/volumes/run"));
    paths.put("/var/run/jmesh/agent", Path.of("/tmp/k/volumes/jmesh-agent"));

    assertThat(Kubelet.rewrite("-Xss1m -javaagent:/var/run/jmesh/agent/jmesh-agent.jar", paths))
        .isEqualTo("-Xss1m -javaagent:/tmp/k/volumes/jmesh-agent/jmesh-agent.jar");
    assertThat(Kubelet.rewrite("/var/run/jmesh/agent", paths)).isEqualTo("/tmp/k/volumes/jmesh-agent");
    assertThat(Kubelet.rewrite("/var/run/jmesh/anchors/a.pem", paths)).isEqualTo("/tmp/k/volumes/run/anchors/a.pem");
    // A longer name, or the path inside another one, is not the mount.
    assertThat(Kubelet.rewrite("/var/run/jmesh-other/x /opt/var/run/jmesh/y", paths))
        .isEqualTo("/var/run/jmesh-other/x /opt/var/run/jmesh/y");
  }
}
