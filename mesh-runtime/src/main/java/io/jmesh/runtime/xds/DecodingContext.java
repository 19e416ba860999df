package io.jmesh.runtime.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.TextFormat;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * What every resource decoder shares: where an error is (the resource's type and name), how its
 * message reads ({@code <Type> <name>: <field path>: <value> (expected: ...)}), and the checks of
 * fields and values that recur across resource types. One per resource decoded; immutable.
 */
final class DecodingContext {
  private static final int MAX_VALUE_CHARS = 120;

  private final String type;
  private final String name;

  DecodingContext(String type, String name) {
    this.type = type;
    this.name = name;
  }

  XdsResourceException error(String path, Object value, String expected) {
    String shown = value instanceof Message m ? TextFormat.shortDebugString(m) : String.valueOf(value);
    if (shown.isEmpty()) {
      shown = "{}";
    }
    if (shown.length() > MAX_VALUE_CHARS) {
      shown = shown.substring(0, MAX_VALUE_CHARS) + "...";
    }
    return new XdsResourceException(
        type + " " + name + ": " + (path.isEmpty() ? "" : path + ": ") + shown + " (expected: " + expected + ")");
  }

  /** Rejects any field of {@code message} that is set and not in {@code allowed}. */
  void only(Message message, String path, String... allowed) throws XdsResourceException {
    Set<String> ok = Set.of(allowed);
    for (Map.Entry<FieldDescriptor, Object> e : message.getAllFields().entrySet()) {
      String field = e.getKey().getName();
      if (!ok.contains(field)) {
        throw error(
            path.isEmpty() ? field : path + "." + field,
            e.getValue() instanceof Message m ? m : e.getValue(),
            "unset: jmesh does not implement " + field
                + (allowed.length == 0 ? "" : "; it reads only " + String.join(", ", allowed)));
      }
    }
    if (!message.getUnknownFields().asMap().isEmpty()) {
      throw error(
          path.isEmpty() ? message.getDescriptorForType().getName() : path,
          "unknown field numbers " + message.getUnknownFields().asMap().keySet(),
          "only fields of " + message.getDescriptorForType().getFullName() + " jmesh knows");
    }
  }

  <T extends Message> T unpack(Any any, Class<T> type, String path) throws XdsResourceException {
    try {
      if (!any.is(type)) {
        throw error(path + ".type_url", any.getTypeUrl(), "type.googleapis.com/" + com.google.protobuf.Internal.getDefaultInstance(type).getDescriptorForType().getFullName());
      }
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      throw error(path, "undecodable bytes: " + e.getMessage(), "a valid " + type.getSimpleName());
    }
  }

  void ads(ConfigSource source, String path) throws XdsResourceException {
    only(source, path, "ads", "resource_api_version");
    if (!source.hasAds()) {
      throw error(path, source, "ads {} (jmesh agents fetch everything on one ADS stream)");
    }
    only(source.getAds(), path + ".ads");
  }

  void sameService(String path, String cluster) throws XdsResourceException {
    if (!cluster.equals(name)) {
      throw error(path, cluster, "the service's own cluster " + name + " (route backends select subsets of it)");
    }
  }

  Map<String, String> labels(Metadata metadata, String path) throws XdsResourceException {
    only(metadata, path, "filter_metadata");
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<String, Struct> e : metadata.getFilterMetadataMap().entrySet()) {
      if (!e.getKey().equals(XdsNames.LB_METADATA)) {
        throw error(path + ".filter_metadata[" + e.getKey() + "]", e.getValue(), "only " + XdsNames.LB_METADATA + " labels");
      }
      for (Map.Entry<String, Value> label : e.getValue().getFieldsMap().entrySet()) {
        if (label.getValue().getKindCase() != Value.KindCase.STRING_VALUE) {
          throw error(path + ".filter_metadata[envoy.lb]." + label.getKey(), label.getValue(), "a string label value");
        }
        out.put(label.getKey(), label.getValue().getStringValue());
      }
    }
    return out;
  }

  Struct jmeshMetadata(Metadata metadata, String path) throws XdsResourceException {
    only(metadata, path, "filter_metadata");
    for (Map.Entry<String, Struct> e : metadata.getFilterMetadataMap().entrySet()) {
      if (!e.getKey().equals(XdsNames.JMESH_METADATA)) {
        throw error(path + ".filter_metadata[" + e.getKey() + "]", e.getValue(), "only " + XdsNames.JMESH_METADATA);
      }
    }
    return metadata.getFilterMetadataOrDefault(XdsNames.JMESH_METADATA, Struct.getDefaultInstance());
  }

  Map<String, Value> struct(Value value, String path, Set<String> keys) throws XdsResourceException {
    if (value.getKindCase() != Value.KindCase.STRUCT_VALUE) {
      throw error(path, value, "a struct with " + String.join(", ", new java.util.TreeSet<>(keys)));
    }
    for (Map.Entry<String, Value> e : value.getStructValue().getFieldsMap().entrySet()) {
      if (!keys.contains(e.getKey())) {
        throw error(path + "." + e.getKey(), e.getValue(), "one of " + String.join(", ", new java.util.TreeSet<>(keys)));
      }
    }
    return value.getStructValue().getFieldsMap();
  }

  String string(Value value, String path, String expected) throws XdsResourceException {
    if (value == null) {
      throw error(path, "unset", expected);
    }
    if (value.getKindCase() != Value.KindCase.STRING_VALUE) {
      throw error(path, value, expected);
    }
    return value.getStringValue();
  }

  List<Value> list(Value value, String path, String expected) throws XdsResourceException {
    if (value == null) {
      throw error(path, "unset", expected);
    }
    if (value.getKindCase() != Value.KindCase.LIST_VALUE) {
      throw error(path, value, expected);
    }
    return value.getListValue().getValuesList();
  }

  /** The strings of an optional list field; present means non-empty, as the translator sends. */
  List<String> strings(Map<String, Value> fields, String key, String path, String what)
      throws XdsResourceException {
    if (!fields.containsKey(key)) {
      return List.of();
    }
    String expected = "a non-empty list of " + what;
    List<Value> items = list(fields.get(key), path + "." + key, expected);
    if (items.isEmpty()) {
      throw error(path + "." + key, "[]", expected);
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < items.size(); i++) {
      out.add(string(items.get(i), path + "." + key + "[" + i + "]", expected));
    }
    return out;
  }

  double number(Value value, String path, double min, double max) throws XdsResourceException {
    if (value.getKindCase() != Value.KindCase.NUMBER_VALUE
        || !(value.getNumberValue() >= min && value.getNumberValue() <= max)) {
      throw error(path, value, "a number in " + min + ".." + max);
    }
    return value.getNumberValue();
  }

  long integer(Value value, String path, long min, long max) throws XdsResourceException {
    double n = number(value, path, min, max);
    if (n != Math.rint(n)) {
      throw error(path, value, "an integer in " + min + ".." + max);
    }
    return (long) n;
  }

  Duration duration(com.google.protobuf.Duration d, String path) throws XdsResourceException {
    if (d.getSeconds() < 0 || d.getNanos() < 0 || d.getNanos() > 999_999_999) {
      throw error(path, d, "a non-negative duration");
    }
    return Duration.ofSeconds(d.getSeconds(), d.getNanos());
  }

  double percent(FractionalPercent p, String path) throws XdsResourceException {
    only(p, path, "numerator", "denominator");
    int denominator =
        switch (p.getDenominator()) {
          case HUNDRED -> 100;
          case TEN_THOUSAND -> 10_000;
          case MILLION -> 1_000_000;
          default -> throw error(path + ".denominator", p.getDenominator(), "HUNDRED, TEN_THOUSAND or MILLION");
        };
    if (Integer.compareUnsigned(p.getNumerator(), denominator) > 0) {
      throw error(path, p, "numerator <= denominator");
    }
    return p.getNumerator() * 100.0 / denominator;
  }

  String regex(RegexMatcher matcher, String path) throws XdsResourceException {
    only(matcher, path, "regex");
    try {
      Pattern.compile(matcher.getRegex());
    } catch (PatternSyntaxException e) {
      throw error(path + ".regex", matcher.getRegex(), "a regular expression (" + e.getDescription() + ")");
    }
    return matcher.getRegex();
  }

  static boolean isZero(com.google.protobuf.Duration d) {
    return d.getSeconds() == 0 && d.getNanos() == 0;
  }
}
