package io.jmesh.agent.tooling;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.TypeAdapter;
import com.google.gson.TypeAdapterFactory;
import com.google.gson.reflect.TypeToken;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The admin endpoint's JSON ({@code /config}, {@code /endpoints}, {@code /tap}), written by the
 * Gson the agent jar carries anyway (gRPC needs it), with the rules the CLI and the smoke tests
 * read: records become objects by their components (so the config model needs no annotations),
 * maps objects (keys by {@code String.valueOf}), collections arrays, numbers and booleans
 * themselves (NaN and infinities {@code null}), enums their lower-case name, an {@code Optional}
 * its value or {@code null}, and anything else its {@code toString()}. Nulls are written, never
 * left out. Values must be acyclic, as the immutable config model and status views are.
 *
 * <p>Stateless; thread-safe.
 */
final class Json {
  private static final Gson GSON =
      new GsonBuilder()
          .serializeNulls()
          .disableHtmlEscaping() // a page for curl and the CLI, never embedded in HTML
          .registerTypeAdapterFactory(new AdminRules())
          .create();

  private Json() {}

  static String write(Object value) {
    return GSON.toJson(value);
  }

  /**
   * Gson keeps strings, booleans, characters, maps and collections (they come back here for
   * their elements, by runtime type); this factory takes every other type, so that Gson never
   * falls back to reading an object's fields by reflection.
   */
  private static final class AdminRules implements TypeAdapterFactory {
    @Override
    @SuppressWarnings("unchecked")
    public <T> TypeAdapter<T> create(Gson gson, TypeToken<T> type) {
      Class<?> raw = type.getRawType();
      if (raw == String.class
          || raw == Boolean.class
          || raw == boolean.class
          || raw == Character.class
          || raw == char.class
          || Map.class.isAssignableFrom(raw)
          || Collection.class.isAssignableFrom(raw)
          || JsonElement.class.isAssignableFrom(raw)) {
        return null;
      }
      TypeAdapter<?> adapter;
      if (Number.class.isAssignableFrom(raw) || (raw.isPrimitive() && raw != void.class)) {
        adapter = new NumberAdapter();
      } else if (raw == Optional.class) {
        adapter = new OptionalAdapter(gson);
      } else if (Enum.class.isAssignableFrom(raw)) {
        adapter = new EnumAdapter();
      } else if (raw.isRecord()) {
        adapter = new RecordAdapter(gson, raw.getRecordComponents());
      } else {
        adapter = new ToStringAdapter();
      }
      return (TypeAdapter<T>) adapter;
    }
  }

  /** Writes {@code value} by the adapter of its runtime type (a field's declared type says less). */
  @SuppressWarnings("unchecked")
  private static void writeValue(Gson gson, JsonWriter out, Object value) throws IOException {
    if (value == null) {
      out.nullValue();
    } else {
      ((TypeAdapter<Object>) gson.getAdapter(value.getClass())).write(out, value);
    }
  }

  /** A write-only adapter: the admin endpoint never reads JSON. */
  private abstract static class WriteOnly<T> extends TypeAdapter<T> {
    @Override
    public final T read(JsonReader in) {
      throw new UnsupportedOperationException("the admin endpoint's JSON is written, never read");
    }
  }

  private static final class NumberAdapter extends WriteOnly<Number> {
    @Override
    public void write(JsonWriter out, Number n) throws IOException {
      double d = n == null ? 0 : n.doubleValue();
      if (n == null || Double.isNaN(d) || Double.isInfinite(d)) {
        out.nullValue();
      } else {
        out.value(n);
      }
    }
  }

  private static final class OptionalAdapter extends WriteOnly<Optional<?>> {
    private final Gson gson;

    OptionalAdapter(Gson gson) {
      this.gson = gson;
    }

    @Override
    public void write(JsonWriter out, Optional<?> o) throws IOException {
      writeValue(gson, out, o == null ? null : o.orElse(null));
    }
  }

  private static final class EnumAdapter extends WriteOnly<Enum<?>> {
    @Override
    public void write(JsonWriter out, Enum<?> e) throws IOException {
      if (e == null) {
        out.nullValue();
      } else {
        out.value(e.name().toLowerCase(Locale.ROOT));
      }
    }
  }

  private static final class RecordAdapter extends WriteOnly<Object> {
    private final Gson gson;
    private final RecordComponent[] components;

    RecordAdapter(Gson gson, RecordComponent[] components) {
      this.gson = gson;
      this.components = components;
    }

    @Override
    public void write(JsonWriter out, Object record) throws IOException {
      if (record == null) {
        out.nullValue();
        return;
      }
      out.beginObject();
      for (RecordComponent c : components) {
        out.name(c.getName());
        writeValue(gson, out, component(c, record));
      }
      out.endObject();
    }

    private static Object component(RecordComponent c, Object record) {
      try {
        Method accessor = c.getAccessor();
        accessor.trySetAccessible(); // nested records of the model may be package-private
        return accessor.invoke(record);
      } catch (ReflectiveOperationException | RuntimeException e) {
        return "(unreadable: " + e + ")";
      }
    }
  }

  private static final class ToStringAdapter extends WriteOnly<Object> {
    @Override
    public void write(JsonWriter out, Object value) throws IOException {
      if (value == null) {
        out.nullValue();
      } else {
        out.value(value.toString());
      }
    }
  }
}
