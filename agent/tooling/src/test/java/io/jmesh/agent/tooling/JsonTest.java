package io.jmesh.agent.tooling;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The admin endpoint's JSON rules, which the CLI and the smoke tests parse. */
class JsonTest {
  enum Mode { STRICT, PERMISSIVE }

  interface Match {}

  record Exact(String value) implements Match {}

  record Route(String name, Mode mode, Match match, List<Integer> weights, Optional<Duration> timeout, double ewma) {}

  @Test
  void recordsAreObjectsByTheirComponentsInOrder() {
    Route route = new Route("split", Mode.PERMISSIVE, new Exact("/a"), List.of(90, 10), Optional.of(Duration.ofMillis(250)), 1.5);

    assertThat(Json.write(route))
        .isEqualTo(
            "{\"name\":\"split\",\"mode\":\"permissive\",\"match\":{\"value\":\"/a\"},\"weights\":[90,10],"
                + "\"timeout\":\"PT0.25S\",\"ewma\":1.5}");
  }

  @Test
  void nullsAreWrittenAndEmptyOptionalsAndNonFiniteNumbersAreNull() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("peer", null);
    m.put("timeout", Optional.empty());
    m.put("ewma", Double.NaN);
    m.put("max", Float.POSITIVE_INFINITY);
    m.put("route", new Route(null, null, null, List.of(), Optional.empty(), Double.NEGATIVE_INFINITY));

    assertThat(Json.write(m))
        .isEqualTo(
            "{\"peer\":null,\"timeout\":null,\"ewma\":null,\"max\":null,"
                + "\"route\":{\"name\":null,\"mode\":null,\"match\":null,\"weights\":[],\"timeout\":null,\"ewma\":null}}");
    assertThat(Json.write(null)).isEqualTo("null");
  }

  @Test
  void mapsKeyByStringValueAndCollectionsOfAnyKindAreArrays() {
    Map<Object, Object> m = new LinkedHashMap<>();
    m.put(Mode.STRICT, Set.of(true));
    m.put(7, new ArrayList<>(Arrays.asList(1L, null, 'c')));
    m.put("nested", Map.of("k", List.of(Map.of())));

    assertThat(Json.write(m)).isEqualTo("{\"STRICT\":[true],\"7\":[1,null,\"c\"],\"nested\":{\"k\":[{}]}}");
  }

  @Test
  void otherObjectsAreTheirToStringAndStringsAreEscapedButNotForHtml() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("address", new Object() {
      @Override
      public String toString() {
        return "127.0.0.1:8080";
      }
    });
    m.put("path", "/b\"q\\<&>\n\t\u0001é");

    assertThat(Json.write(m))
        .isEqualTo("{\"address\":\"127.0.0.1:8080\",\"path\":\"/b\\\"q\\\\<&>\\n\\t\\u0001é\"}");
  }
}
