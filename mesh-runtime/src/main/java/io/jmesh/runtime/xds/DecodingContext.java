package io.jmesh.runtime.xds;

import com.google.protobuf.Any;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Internal;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.TextFormat;
import com.google.protobuf.Value;
import com.google.protobuf.WireFormat;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
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
    if (onlyAllowedSet(message, allowed)) {
      return;
    }
    // Something is set that is not allowed (or may be): reflection decides and words the error.
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
      if (!is(any, type)) {
        throw error(path + ".type_url", any.getTypeUrl(), "type.googleapis.com/" + fullName(type));
      }
      return parse(any, type);
    } catch (InvalidProtocolBufferException e) {
      throw error(path, "undecodable bytes: " + e.getMessage(), "a valid " + type.getSimpleName());
    }
  }

  /**
   * {@code any.unpack(type)} without descriptors: the same check of the type name (the part of the
   * URL after its last '/'), then the generated parser.
   *
   * @throws InvalidProtocolBufferException with {@link Any#unpack}'s message when the type differs
   */
  static <T extends Message> T unpackResource(Any any, Class<T> type) throws InvalidProtocolBufferException {
    if (!is(any, type)) {
      throw new InvalidProtocolBufferException("Type of the Any message does not match the given class.");
    }
    return parse(any, type);
  }

  // ---- decoding without descriptors (issue 20) ---------------------------------------------------
  //
  // Protobuf's reflection (getAllFields, Any.is, Any.pack) builds the descriptor of the message's
  // .proto file and of every file it imports (the validate, udpa and xds annotations: about 370
  // classes for a Listener), and an accessor table per message type that looks up each field's
  // methods by name. On a fresh JVM that was most of the time to decode the first Listeners, on the
  // path to the application's first call. The generated parsers and serializers need none of it, so
  // the common case (every set field allowed) reads field numbers from the wire form instead, and
  // reflection runs only to word an error.

  /** The proto full names of the Any payloads jmesh reads; others are asked of their descriptor. */
  static final Map<Class<?>, String> FULL_NAMES =
      Map.ofEntries(
          Map.entry(io.envoyproxy.envoy.config.listener.v3.Listener.class, "envoy.config.listener.v3.Listener"),
          Map.entry(
              io.envoyproxy.envoy.config.route.v3.RouteConfiguration.class,
              "envoy.config.route.v3.RouteConfiguration"),
          Map.entry(io.envoyproxy.envoy.config.cluster.v3.Cluster.class, "envoy.config.cluster.v3.Cluster"),
          Map.entry(
              io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment.class,
              "envoy.config.endpoint.v3.ClusterLoadAssignment"),
          Map.entry(
              io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.class,
              "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"),
          Map.entry(
              io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.class,
              "envoy.extensions.filters.http.router.v3.Router"),
          Map.entry(
              io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault.class,
              "envoy.extensions.filters.http.fault.v3.HTTPFault"),
          Map.entry(
              io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class,
              "envoy.extensions.filters.http.rbac.v3.RBAC"),
          Map.entry(
              io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class,
              "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"),
          // Joined at run time: the agent jar's shading relocates the package xds.type, and with it
          // any string constant that starts like it.
          Map.entry(com.github.xds.type.v3.TypedStruct.class, String.join(".", "xds", "type", "v3", "TypedStruct")));

  /** The proto full name of {@code type}, as its descriptor says it. */
  static String fullName(Class<? extends Message> type) {
    String known = FULL_NAMES.get(type);
    return known != null ? known : Internal.getDefaultInstance(type).getDescriptorForType().getFullName();
  }

  /** {@link Any#is}: whether the type name of {@code any}'s URL is {@code type}'s. */
  private static boolean is(Any any, Class<? extends Message> type) {
    String url = any.getTypeUrl();
    return url.substring(url.lastIndexOf('/') + 1).equals(fullName(type));
  }

  @SuppressWarnings("unchecked")
  private static <T extends Message> T parse(Any any, Class<T> type) throws InvalidProtocolBufferException {
    return (T) Internal.getDefaultInstance(type).getParserForType().parseFrom(any.getValue());
  }

  /**
   * Whether every field set in {@code message} is in {@code allowed} and none is unknown, read from
   * its wire form: proto3 writes exactly the fields that reflection reports as set. False means
   * "not sure": the reflective check decides.
   */
  static boolean onlyAllowedSet(Message message, String... allowed) {
    if (!message.getUnknownFields().asMap().isEmpty()) {
      return false;
    }
    Map<String, Integer> numbers = FIELD_NUMBERS.get(message.getClass());
    int[] ok = new int[allowed.length];
    for (int i = 0; i < allowed.length; i++) {
      Integer n = numbers.get(allowed[i]);
      ok[i] = n == null ? 0 : n; // 0 is no field number: a name it does not know allows nothing
    }
    try {
      CodedInputStream in = message.toByteString().newCodedInput();
      for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
        if (!contains(ok, WireFormat.getTagFieldNumber(tag))) {
          return false;
        }
        in.skipField(tag);
      }
      return true;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static boolean contains(int[] numbers, int number) {
    for (int n : numbers) {
      if (n == number) {
        return true;
      }
    }
    return false;
  }

  /**
   * Per generated message class, its field names and numbers, from the {@code <NAME>_FIELD_NUMBER}
   * constants protoc writes for every field (the name upper-cased): plain Java reflection on one
   * class, none of protobuf's.
   */
  private static final ClassValue<Map<String, Integer>> FIELD_NUMBERS =
      new ClassValue<>() {
        @Override
        protected Map<String, Integer> computeValue(Class<?> type) {
          Map<String, Integer> out = new java.util.HashMap<>();
          for (Field f : type.getFields()) {
            String n = f.getName();
            if (n.endsWith(FIELD_NUMBER) && f.getType() == int.class && Modifier.isStatic(f.getModifiers())) {
              try {
                out.put(n.substring(0, n.length() - FIELD_NUMBER.length()).toLowerCase(Locale.ROOT), f.getInt(null));
              } catch (IllegalAccessException e) {
                // A public constant: cannot happen; without it the reflective check decides.
              }
            }
          }
          return Map.copyOf(out);
        }
      };

  private static final String FIELD_NUMBER = "_FIELD_NUMBER";

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
