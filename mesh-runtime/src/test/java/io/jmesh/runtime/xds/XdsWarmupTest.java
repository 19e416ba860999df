package io.jmesh.runtime.xds;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The warm-up's made-up resources must pass the decoder: one it refused would stop at the first
 * error and leave unloaded the classes the controller's real first response needs.
 */
class XdsWarmupTest {
  @Test
  void theListenerSamplePassesTheDecoder() {
    assertThat(XdsWarmup.listeners()).isEmpty();
  }

  @Test
  void theRouteClusterAndEndpointSamplesPassTheDecoder() {
    assertThat(XdsWarmup.firstUse()).isEmpty();
  }
}
