package io.jmesh.controller;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;

/** Reads admin JSON in tests through protobuf's own parser (no JSON library needed). */
final class JsonPath {
  private JsonPath() {}

  static Value parse(String json) {
    Struct.Builder struct = Struct.newBuilder();
    try {
      JsonFormat.parser().merge(json, struct);
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("not JSON: " + json, e);
    }
    return Value.newBuilder().setStructValue(struct).build();
  }

  /** The value at {@code path}: field names, and list indices as numbers in strings ("0"). */
  static Value at(Value root, String... path) {
    Value v = root;
    for (String step : path) {
      if (v.hasListValue()) {
        v = v.getListValue().getValues(Integer.parseInt(step));
      } else {
        Struct s = v.getStructValue();
        if (!s.containsFields(step)) {
          throw new AssertionError("no field '" + step + "' in " + s);
        }
        v = s.getFieldsOrThrow(step);
      }
    }
    return v;
  }

  static String string(Value root, String... path) {
    Value v = at(root, path);
    return v.hasNullValue() ? null : v.getStringValue();
  }
}
