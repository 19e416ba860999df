package io.jmesh.smoke;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.ServiceAccountTokenProjection;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.jmesh.smoke.support.Jvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the kubelet does before it starts a pod's container, done on this host for a smoke test:
 * the container then runs as a real JVM. Supported is what an injected pod needs, and anything
 * else is refused with its name (never skipped):
 *
 * <ul>
 *   <li><b>Volumes</b>: each is a directory {@code <root>/volumes/<name>}, as the kubelet keeps them
 *       under {@code /var/lib/kubelet/pods/<uid>/volumes}. {@code emptyDir}: empty. {@code
 *       configMap}, {@code secret}: one file per key, read from the API server (an absent object
 *       fails, where the kubelet would leave the pod in {@code ContainerCreating}). {@code
 *       projected} with {@code serviceAccountToken} sources: a token from {@code tokens} (the
 *       TokenRequest the kubelet makes, for the source's audience and the pod's service account)
 *       at the source's path.
 *   <li><b>Path mapping</b>: there is no mount namespace, so a container's view is rewritten
 *       instead. Each of its {@code volumeMounts} maps {@code mountPath} to its volume's directory;
 *       {@code imageFiles} maps paths inside the image (for example {@code /app/classes}) to files
 *       of this host. Every environment value and every command argument has each such path
 *       rewritten where it stands as a whole path (followed by {@code /}, a space, {@code :} or the
 *       end), longest first. So {@code -javaagent:/var/run/jmesh/agent/jmesh-agent.jar} becomes
 *       {@code -javaagent:<root>/volumes/jmesh-agent/jmesh-agent.jar}.
 *   <li><b>Init containers</b> run first, in order. Only a copy is supported: {@code command: [cp,
 *       <file in the image>, <file under one of its mounts>]}, done with {@link Files#copy}; the
 *       image file must be in {@code imageFiles}. A native sidecar ({@code restartPolicy: Always})
 *       is refused.
 *   <li><b>Environment</b>, as the kubelet builds it: {@code HOSTNAME} = the pod's name, then
 *       {@code envFrom} (ConfigMaps and Secrets, with their prefix), then {@code env} in order, a
 *       later entry replacing an earlier one. {@code valueFrom}: {@code fieldRef} ({@code
 *       metadata.name}, {@code metadata.namespace}, {@code metadata.uid}, {@code
 *       metadata.labels['k']}, {@code metadata.annotations['k']}, {@code spec.serviceAccountName},
 *       {@code spec.nodeName}, {@code status.podIP}, {@code status.podIPs}, {@code status.hostIP}),
 *       {@code configMapKeyRef}, {@code secretKeyRef}. A literal {@code value} is expanded as
 *       Kubernetes does: {@code $(NAME)} is replaced when {@code NAME} was defined before it (else
 *       left as written), {@code $$} is one {@code $}. The command and args are expanded with the
 *       whole environment.
 *   <li><b>Command</b>: {@code [java, -cp, <path>, <JVM options>..., <main class>, <args>...]}
 *       (command then args), run with the JDK that runs the tests.
 * </ul>
 *
 * <p>Not thread-safe; one pod per instance.
 */
final class Kubelet {
  private static final Pattern REFERENCE = Pattern.compile("\\$\\$|\\$\\(([A-Za-z_][A-Za-z0-9_.-]*)\\)");
  private static final Pattern FIELD_KEY = Pattern.compile("metadata\\.(labels|annotations)\\['(.+)'\\]");

  private final KubernetesClient client;
  private final Path root;
  private final Map<String, Path> imageFiles;
  private final BiFunction<Pod, String, String> tokens;
  private final Map<String, Path> volumes = new LinkedHashMap<>();

  /**
   * @param root the directory under which the pod's volumes are made
   * @param imageFiles paths inside the images, to files or directories of this host
   * @param tokens the token the API server's TokenRequest would give (the pod, an audience)
   */
  Kubelet(KubernetesClient client, Path root, Map<String, Path> imageFiles, BiFunction<Pod, String, String> tokens) {
    this.client = client;
    this.root = root;
    this.imageFiles = Map.copyOf(imageFiles);
    this.tokens = tokens;
  }

  /** The host directory of the pod's volume {@code name} (after {@link #prepare}). */
  Path volume(String name) {
    Path dir = volumes.get(name);
    if (dir == null) {
      throw new IllegalArgumentException("volume " + name + ": not in the pod (expected one of " + volumes.keySet() + ")");
    }
    return dir;
  }

  /**
   * Makes the pod's volumes and runs its init containers; then returns container {@code name} as
   * a JVM to start. {@code pod} is the pod as stored by the API server, with its status.
   */
  Jvm.Builder prepare(Pod pod, String name) throws IOException {
    String where = pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
    for (Volume volume : pod.getSpec().getVolumes()) {
      volumes.put(volume.getName(), makeVolume(pod, volume, where));
    }
    for (Container init : pod.getSpec().getInitContainers()) {
      runInit(init, where);
    }
    Container container = pod.getSpec().getContainers().stream()
        .filter(c -> c.getName().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("pod " + where + ": no container " + name));
    Map<String, Path> paths = paths(container, where);
    Map<String, String> env = environment(pod, container);
    env.replaceAll((k, v) -> rewrite(v, paths));
    List<String> command = new ArrayList<>();
    command.addAll(container.getCommand());
    command.addAll(container.getArgs());
    command.replaceAll(arg -> rewrite(expand(arg, env), paths));
    if (command.size() < 4 || !command.get(0).equals("java") || !command.get(1).equals("-cp")) {
      throw new IllegalArgumentException("container " + name + " of " + where + ": command " + command
          + " (expected: java -cp <path> [options] <main class> [args])");
    }
    Jvm.Builder jvm = Jvm.builder(pod.getMetadata().getName() + "/" + name).classPath(command.get(2)).env(env);
    int i = 3;
    while (i < command.size() && command.get(i).startsWith("-")) {
      jvm.jvmArg(command.get(i++));
    }
    if (i == command.size()) {
      throw new IllegalArgumentException("container " + name + " of " + where + ": no main class in " + command);
    }
    return jvm.main(command.get(i), command.subList(i + 1, command.size()).toArray(new String[0]));
  }

  private Path makeVolume(Pod pod, Volume volume, String where) throws IOException {
    Path dir = Files.createDirectories(root.resolve("volumes").resolve(volume.getName()));
    String ns = pod.getMetadata().getNamespace();
    if (volume.getEmptyDir() != null) {
      return dir;
    }
    if (volume.getConfigMap() != null) {
      String cmName = volume.getConfigMap().getName();
      ConfigMap cm = client.configMaps().inNamespace(ns).withName(cmName).get();
      if (cm == null) {
        throw new IllegalStateException("volume " + volume.getName() + " of " + where + ": ConfigMap " + ns + "/"
            + cmName + " does not exist (expected: made before the pod; the kubelet would wait)");
      }
      for (Map.Entry<String, String> e : cm.getData().entrySet()) {
        Files.writeString(dir.resolve(e.getKey()), e.getValue());
      }
      return dir;
    }
    if (volume.getSecret() != null) {
      String secretName = volume.getSecret().getSecretName();
      Secret secret = client.secrets().inNamespace(ns).withName(secretName).get();
      if (secret == null) {
        throw new IllegalStateException("volume " + volume.getName() + " of " + where + ": Secret " + ns + "/"
            + secretName + " does not exist (expected: made before the pod; the kubelet would wait)");
      }
      for (Map.Entry<String, String> e : secret.getData().entrySet()) {
        Files.write(dir.resolve(e.getKey()), Base64.getDecoder().decode(e.getValue()));
      }
      return dir;
    }
    if (volume.getProjected() != null) {
      for (VolumeProjection source : volume.getProjected().getSources()) {
        ServiceAccountTokenProjection token = source.getServiceAccountToken();
        if (token == null) {
          throw new UnsupportedOperationException("volume " + volume.getName() + " of " + where
              + ": projected source " + source + " (expected: serviceAccountToken only, in this emulation)");
        }
        Files.writeString(dir.resolve(token.getPath()), tokens.apply(pod, token.getAudience()));
      }
      return dir;
    }
    throw new UnsupportedOperationException("volume " + volume.getName() + " of " + where + ": " + volume
        + " (expected: emptyDir, configMap, secret or projected, in this emulation)");
  }

  private void runInit(Container init, String where) throws IOException {
    if ("Always".equals(init.getRestartPolicy())) {
      throw new UnsupportedOperationException("init container " + init.getName() + " of " + where
          + ": a native sidecar (expected: run-to-completion init containers only, in this emulation)");
    }
    List<String> command = new ArrayList<>(init.getCommand());
    command.addAll(init.getArgs());
    if (command.size() != 3 || !command.get(0).equals("cp")) {
      throw new UnsupportedOperationException("init container " + init.getName() + " of " + where + ": command "
          + command + " (expected: [cp, <file in the image>, <file under a mount>], in this emulation)");
    }
    Path source = imageFiles.get(command.get(1));
    if (source == null) {
      throw new IllegalArgumentException("init container " + init.getName() + " of " + where + ": image file "
          + command.get(1) + " unknown (expected one of " + imageFiles.keySet() + ")");
    }
    Map<String, Path> mounts = mounts(init, where);
    String target = rewrite(command.get(2), mounts);
    if (target.equals(command.get(2))) {
      throw new IllegalArgumentException("init container " + init.getName() + " of " + where + ": target "
          + target + " is under none of its mounts " + mounts.keySet());
    }
    Files.copy(source, Path.of(target));
  }

  /** The container's mounts, then the image's own paths. */
  private Map<String, Path> paths(Container container, String where) {
    Map<String, Path> paths = new LinkedHashMap<>(mounts(container, where));
    imageFiles.forEach(paths::putIfAbsent);
    return paths;
  }

  private Map<String, Path> mounts(Container container, String where) {
    Map<String, Path> mounts = new LinkedHashMap<>();
    for (VolumeMount mount : container.getVolumeMounts()) {
      Path dir = volumes.get(mount.getName());
      if (dir == null) {
        throw new IllegalArgumentException("container " + container.getName() + " of " + where + ": mount of volume "
            + mount.getName() + " the pod lacks");
      }
      if (mount.getSubPath() != null && !mount.getSubPath().isEmpty()) {
        dir = dir.resolve(mount.getSubPath());
      }
      mounts.put(mount.getMountPath(), dir);
    }
    return mounts;
  }

  /** Replaces each mapped path standing as a whole path in {@code value}, longest first. */
  static String rewrite(String value, Map<String, Path> paths) {
    List<String> longestFirst = new ArrayList<>(paths.keySet());
    longestFirst.sort(Comparator.comparingInt(String::length).reversed());
    String out = value;
    for (String from : longestFirst) {
      String to = Matcher.quoteReplacement(paths.get(from).toString());
      out = Pattern.compile("(?<![\\w.-])" + Pattern.quote(from) + "(?=/|\\s|:|,|$)").matcher(out).replaceAll(to);
    }
    return out;
  }

  private Map<String, String> environment(Pod pod, Container container) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("HOSTNAME", pod.getMetadata().getName());
    String ns = pod.getMetadata().getNamespace();
    for (EnvFromSource from : container.getEnvFrom()) {
      String prefix = from.getPrefix() == null ? "" : from.getPrefix();
      if (from.getConfigMapRef() != null) {
        ConfigMap cm = client.configMaps().inNamespace(ns).withName(from.getConfigMapRef().getName()).get();
        if (cm != null) {
          cm.getData().forEach((k, v) -> env.put(prefix + k, v));
        }
      } else if (from.getSecretRef() != null) {
        Secret s = client.secrets().inNamespace(ns).withName(from.getSecretRef().getName()).get();
        if (s != null) {
          s.getData().forEach((k, v) -> env.put(prefix + k,
              new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
        }
      }
    }
    for (EnvVar var : container.getEnv()) {
      String value = var.getValueFrom() == null
          ? expand(var.getValue() == null ? "" : var.getValue(), env)
          : valueFrom(pod, var.getName(), var.getValueFrom());
      env.remove(var.getName()); // a redefinition takes the later place, as in the kubelet's list
      env.put(var.getName(), value);
    }
    return env;
  }

  /** Kubernetes' expansion: {@code $(NAME)} from what is defined, else as written; {@code $$} is {@code $}. */
  static String expand(String value, Map<String, String> defined) {
    Matcher m = REFERENCE.matcher(value);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String replacement = m.group(1) == null ? "$" : defined.getOrDefault(m.group(1), m.group());
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return out.toString();
  }

  private String valueFrom(Pod pod, String var, EnvVarSource source) {
    String ns = pod.getMetadata().getNamespace();
    if (source.getFieldRef() != null) {
      String field = source.getFieldRef().getFieldPath();
      Matcher key = FIELD_KEY.matcher(field);
      if (key.matches()) {
        Map<String, String> map = key.group(1).equals("labels")
            ? pod.getMetadata().getLabels() : pod.getMetadata().getAnnotations();
        return map == null ? "" : map.getOrDefault(key.group(2), "");
      }
      return switch (field) {
        case "metadata.name" -> pod.getMetadata().getName();
        case "metadata.namespace" -> ns;
        case "metadata.uid" -> pod.getMetadata().getUid();
        case "spec.serviceAccountName" -> pod.getSpec().getServiceAccountName();
        case "spec.nodeName" -> pod.getSpec().getNodeName();
        case "status.podIP" -> pod.getStatus().getPodIP();
        case "status.podIPs" -> String.join(",",
            pod.getStatus().getPodIPs().stream().map(ip -> ip.getIp()).toList());
        case "status.hostIP" -> pod.getStatus().getHostIP();
        default -> throw new UnsupportedOperationException("env " + var + ": fieldRef " + field
            + " (expected a field the downward API offers, in this emulation)");
      };
    }
    if (source.getConfigMapKeyRef() != null) {
      ConfigMap cm = client.configMaps().inNamespace(ns).withName(source.getConfigMapKeyRef().getName()).get();
      String value = cm == null ? null : cm.getData().get(source.getConfigMapKeyRef().getKey());
      if (value == null) {
        throw new IllegalStateException("env " + var + ": ConfigMap key " + source.getConfigMapKeyRef().getName() + "/"
            + source.getConfigMapKeyRef().getKey() + " absent (expected: present; the kubelet would not start it)");
      }
      return value;
    }
    if (source.getSecretKeyRef() != null) {
      Secret s = client.secrets().inNamespace(ns).withName(source.getSecretKeyRef().getName()).get();
      String value = s == null ? null : s.getData().get(source.getSecretKeyRef().getKey());
      if (value == null) {
        throw new IllegalStateException("env " + var + ": Secret key " + source.getSecretKeyRef().getName() + "/"
            + source.getSecretKeyRef().getKey() + " absent (expected: present; the kubelet would not start it)");
      }
      return new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
    }
    throw new UnsupportedOperationException("env " + var + ": valueFrom " + source
        + " (expected: fieldRef, configMapKeyRef or secretKeyRef, in this emulation)");
  }
}
