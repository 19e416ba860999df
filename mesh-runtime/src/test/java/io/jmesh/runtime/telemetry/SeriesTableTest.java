package io.jmesh.runtime.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SeriesTableTest {
  @Test
  void findsEachSeriesByItsLabelValuesAndMakesItOnce() {
    SeriesTable<String> table = new SeriesTable<>();
    AtomicInteger made = new AtomicInteger();

    // Enough series to grow the table several times; one label left null, as the RPC family does.
    for (int i = 0; i < 100; i++) {
      String status = Integer.toString(200 + i);
      String meter = "timer-" + i;
      assertThat(table.get("split", "GET", status, "", null)).isNull();
      assertThat(table.add("split", "GET", status, "", null, () -> {
        made.incrementAndGet();
        return meter;
      })).isEqualTo(meter);
    }
    assertThat(table.add("split", "GET", "200", "", null, () -> "again")).isEqualTo("timer-0");

    assertThat(made).hasValue(100);
    assertThat(table.size()).isEqualTo(100);
    for (int i = 0; i < 100; i++) {
      // Equal values, not the same instances, find the series.
      assertThat(table.get(new String("split"), "GET", Integer.toString(200 + i), "", null)).isEqualTo("timer-" + i);
    }
    assertThat(table.get("split", "GET", "200", "", "other")).isNull();
    assertThat(table.get("split", "POST", "200", "", null)).isNull();
  }
}
