package io.jmesh.controller.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import com.google.gson.Strictness;
import com.google.gson.ToNumberPolicy;

/**
 * Reads the JSON the CLI is served (the controller's and the agents' admin documents, tap lines)
 * into plain values with Gson: {@link java.util.Map} (field order kept), {@link java.util.List},
 * {@link String}, {@link Long} for integers that fit, {@link Double} for other numbers, {@link
 * Boolean} and {@code null}.
 *
 * <p>Thread-safety: stateless.
 */
final class Json {
  // Strict RFC 8259: an admin endpoint that answers something else is not the one we meant.
  private static final Gson GSON =
      new GsonBuilder()
          .setStrictness(Strictness.STRICT)
          .setObjectToNumberStrategy(ToNumberPolicy.LONG_OR_DOUBLE)
          .create();

  private Json() {}

  /**
   * @throws IllegalArgumentException naming where the text stops being JSON
   */
  static Object parse(String text) {
    if (text.isBlank()) {
      throw new IllegalArgumentException("JSON: empty text (expected: a value)");
    }
    try {
      return GSON.fromJson(text, Object.class);
    } catch (JsonParseException e) {
      // The reader's own message ("Expected ':' at line 1 column 7 path $.a"), not its wrapper's
      // class name; its last line points at Gson's troubleshooting guide, not at our input.
      Throwable why = e.getCause() != null ? e.getCause() : e;
      String message = String.valueOf(why.getMessage()).lines().findFirst().orElse("");
      throw new IllegalArgumentException("JSON: " + message, e);
    }
  }
}
