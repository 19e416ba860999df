package io.jmesh.agent;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class JmeshAgentTest {
  private final String command = System.getProperty("sun.java.command");
  private final String module = System.getProperty("jdk.module.main");

  @AfterEach
  void restore() {
    set("sun.java.command", command);
    set("jdk.module.main", module);
    System.clearProperty("jmesh.enabled");
    System.clearProperty("jmesh.exclude.main");
  }

  private static void set(String key, String value) {
    if (value == null) {
      System.clearProperty(key);
    } else {
      System.setProperty(key, value);
    }
  }

  @Test
  void workloadIsNotSkipped() {
    System.clearProperty("jdk.module.main");
    System.setProperty("sun.java.command", "com.example.Main --port 8080");

    assertThat(JmeshAgent.skipReason()).isNull();
  }

  @Test
  void jdkToolsAreSkipped() {
    System.setProperty("jdk.module.main", "jdk.jcmd");
    System.setProperty("sun.java.command", "jdk.jcmd/sun.tools.jcmd.JCmd -l");
    assertThat(JmeshAgent.skipReason()).isEqualTo("JDK tool (module jdk.jcmd)");

    System.setProperty("jdk.module.main", "java.base");
    assertThat(JmeshAgent.skipReason()).startsWith("JDK tool");
  }

  @Test
  void buildToolsAreSkipped() {
    System.clearProperty("jdk.module.main");
    System.setProperty("sun.java.command", "org.codehaus.plexus.classworlds.launcher.Launcher verify");

    assertThat(JmeshAgent.skipReason()).contains("org.codehaus.plexus.classworlds.launcher.Launcher");
  }

  @Test
  void byteBuddyAttacherIsSkipped() {
    System.clearProperty("jdk.module.main");
    System.setProperty("sun.java.command", "net.bytebuddy.agent.Attacher net.bytebuddy.agent.Installer 4242 /tmp/a.jar false");

    assertThat(JmeshAgent.skipReason()).isEqualTo("tool JVM (main net.bytebuddy.agent.Attacher)");
  }

  @Test
  void switchAndExclusionsAreHonoured() {
    System.clearProperty("jdk.module.main");
    System.setProperty("sun.java.command", "com.example.batch.Job");
    System.setProperty("jmesh.exclude.main", "com.example.batch.");
    assertThat(JmeshAgent.skipReason()).contains("jmesh.exclude.main");

    System.setProperty("jmesh.enabled", "false");
    assertThat(JmeshAgent.skipReason()).isEqualTo("jmesh.enabled=false");
  }
}
