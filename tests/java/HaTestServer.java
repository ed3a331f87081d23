/*
 * HaTestServer: conformance peer for rmfc's Hadoop IPC tests.
 *
 * A real Hadoop RPC server (Hadoop 3.5.0 client jars, no YARN server code)
 * hosting HAServiceProtocol the way the YARN ResourceManager's AdminService
 * does (ProtobufRpcEngine2 + HAServiceProtocolServerSideTranslatorPB), with
 * scripted behaviours that mimic AdminService's answers and error messages.
 *
 * Usage:
 *   java -cp "$JARS/*:$CLASSES" HaTestServer BEHAVIOR[.LABEL] [BEHAVIOR[.LABEL]...]
 *
 * One server per argument, all in this JVM, bound to 127.0.0.1 on an
 * ephemeral port. stdout protocol (each line flushed):
 *   LISTEN <token> <port>          one per argument, in argument order
 *   READY                          after all servers are up
 *   CALL <token> <method> <source> for every call the HAServiceProtocol impl
 *                                  (or the no-ha ZKFCProtocol impl) receives;
 *                                  <source> is the StateChangeRequestInfo's
 *                                  RequestSource name (REQUEST_BY_USER,
 *                                  REQUEST_BY_USER_FORCED, REQUEST_BY_ZKFC) or
 *                                  "-" for methods without one.
 * <token> is the argument exactly as given; the part before the first '.'
 * selects the behaviour, so "manual.rm1 manual.rm2" starts two independent
 * manual servers. The process runs until stdin reaches EOF (then stops the
 * servers and exits 0) or it is killed: keep its stdin open as a pipe.
 * Logging (log4j2) goes to stderr at WARN (override: -Dhatest.log.level=).
 *
 * Behaviours (<addr> is the caller's IP as Hadoop's Server sees it):
 *   manual      yarn.resourcemanager.ha.automatic-failover.enabled=false.
 *               Starts STANDBY, getServiceStatus ready=true, monitorHealth ok.
 *               transitionToActive returns at once when already ACTIVE; a
 *               REQUEST_BY_ZKFC transition is refused with AccessControlException
 *               "Request from ZK failover controller at <addr> denied since
 *               automatic failover is not enabled".
 *               transitionToObserver: ServiceFailedException
 *               "Does not support transition to Observer".
 *   auto        automatic-failover.enabled=true: REQUEST_BY_USER transitions are
 *               refused with AccessControlException "Manual failover for this
 *               ResourceManager is disallowed, because automatic failover is
 *               enabled."; USER_FORCED and ZKFC allowed. Otherwise as manual.
 *   unhealthy   starts ACTIVE; monitorHealth throws HealthCheckFailedException
 *               "Active ResourceManager services are not running!".
 *   transition-fails
 *               transitionToActive / transitionToStandby throw
 *               ServiceFailedException "Error when transitioning to Active mode"
 *               / "... to Standby mode".
 *   denied      every method throws AccessControlException "User nobody doesn't
 *               have permission to call '<m>'" with <m> one of monitorHealth,
 *               transitionToActive, transitionToStandby, getServiceState
 *               (AdminService's names; getServiceStatus checks
 *               "getServiceState"), transitionToObserver.
 *   not-ready   getServiceStatus: INITIALIZING, not ready,
 *               reason "State is initializing".
 *   slow        getServiceStatus and monitorHealth sleep 30 s before answering.
 *   no-ha       hosts only ZKFCProtocolPB (trivial ZKFCProtocol impl), so an
 *               HAServiceProtocol call fails with RpcNoSuchProtocolException
 *               "Unknown protocol: org.apache.hadoop.ha.HAServiceProtocol".
 *   kerberos    the manual impl behind a server whose Configuration has
 *               hadoop.security.authentication=kerberos: a SIMPLE client is
 *               refused right after the connection preamble with FATAL_UNAUTHORIZED,
 *               AccessControlException "SIMPLE authentication is not enabled.
 *               Available:[KERBEROS]". Only the server's own Configuration is
 *               secure (UserGroupInformation stays SIMPLE, no KDC, no keytab), so
 *               it can share the JVM with the other behaviours.
 * The behaviours other than manual/auto do not check the request source (they
 * act as if any source were allowed), so a ZKFC-style client reaches the
 * scripted answer.
 */

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CommonConfigurationKeysPublic;
import org.apache.hadoop.ha.HAServiceProtocol;
import org.apache.hadoop.ha.HAServiceProtocol.HAServiceState;
import org.apache.hadoop.ha.HAServiceProtocol.RequestSource;
import org.apache.hadoop.ha.HAServiceProtocol.StateChangeRequestInfo;
import org.apache.hadoop.ha.HAServiceStatus;
import org.apache.hadoop.ha.HealthCheckFailedException;
import org.apache.hadoop.ha.ServiceFailedException;
import org.apache.hadoop.ha.ZKFCProtocol;
import org.apache.hadoop.ha.proto.HAServiceProtocolProtos.HAServiceProtocolService;
import org.apache.hadoop.ha.proto.ZKFCProtocolProtos.ZKFCProtocolService;
import org.apache.hadoop.ha.protocolPB.HAServiceProtocolPB;
import org.apache.hadoop.ha.protocolPB.HAServiceProtocolServerSideTranslatorPB;
import org.apache.hadoop.ha.protocolPB.ZKFCProtocolPB;
import org.apache.hadoop.ha.protocolPB.ZKFCProtocolServerSideTranslatorPB;
import org.apache.hadoop.ipc.ProtobufRpcEngine2;
import org.apache.hadoop.ipc.RPC;
import org.apache.hadoop.ipc.Server;
import org.apache.hadoop.security.AccessControlException;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.appender.ConsoleAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilder;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilderFactory;
import org.apache.logging.log4j.core.config.builder.impl.BuiltConfiguration;

public final class HaTestServer {

  private static final PrintStream OUT = System.out;

  private HaTestServer() {}

  /** Prints one protocol line on stdout and flushes it. */
  static void emit(String line) {
    synchronized (OUT) {
      OUT.println(line);
      OUT.flush();
    }
  }

  /** log4j2 to stderr only (stdout carries the line protocol). */
  static void quietLogging() {
    Configurator.reconfigure(quietLoggingBuilder().build());
  }

  /**
   * The configuration quietLogging installs, for programs that add loggers
   * to it (SecureHaServer) before building it.
   */
  static ConfigurationBuilder<BuiltConfiguration> quietLoggingBuilder() {
    Level level = Level.toLevel(System.getProperty("hatest.log.level", "WARN"), Level.WARN);
    ConfigurationBuilder<BuiltConfiguration> b =
        ConfigurationBuilderFactory.newConfigurationBuilder();
    b.setStatusLevel(Level.ERROR);
    b.setConfigurationName("hatest");
    b.add(b.newAppender("stderr", "Console")
        .addAttribute("target", ConsoleAppender.Target.SYSTEM_ERR)
        .add(b.newLayout("PatternLayout")
            .addAttribute("pattern", "%d{HH:mm:ss.SSS} %-5p %c{1}: %m%n")));
    // Without native libraries Hadoop warns once per JVM; that is expected here.
    b.add(b.newLogger("org.apache.hadoop.util.NativeCodeLoader", Level.ERROR));
    b.add(b.newRootLogger(level).add(b.newAppenderRef("stderr")));
    return b;
  }

  enum Behavior {
    MANUAL("manual"),
    AUTO("auto"),
    UNHEALTHY("unhealthy"),
    TRANSITION_FAILS("transition-fails"),
    DENIED("denied"),
    NOT_READY("not-ready"),
    SLOW("slow"),
    NO_HA("no-ha"),
    KERBEROS("kerberos");

    final String cliName;

    Behavior(String cliName) {
      this.cliName = cliName;
    }

    static Behavior parse(String token) {
      int dot = token.indexOf('.');
      String name = dot < 0 ? token : token.substring(0, dot);
      for (Behavior b : values()) {
        if (b.cliName.equals(name)) {
          return b;
        }
      }
      return null;
    }
  }

  /**
   * HAServiceProtocol impl mimicking YARN's AdminService, per behaviour.
   * Not final: SecureHaServer reuses it and overrides call() to log who called.
   */
  static class ScriptedHaService implements HAServiceProtocol {
    private static final long SLOW_MILLIS = 30_000L;

    private final String token;
    private final Behavior behavior;
    private HAServiceState state;

    ScriptedHaService(String token, Behavior behavior) {
      this.token = token;
      this.behavior = behavior;
      this.state = behavior == Behavior.UNHEALTHY ? HAServiceState.ACTIVE
          : behavior == Behavior.NOT_READY ? HAServiceState.INITIALIZING
          : HAServiceState.STANDBY;
    }

    /** Prints the CALL line of one call; runs on the handler thread. */
    void call(String method, StateChangeRequestInfo req) {
      emit("CALL " + token + " " + method + " " + sourceName(req));
    }

    static String sourceName(StateChangeRequestInfo req) {
      return req == null || req.getSource() == null ? "-" : req.getSource().name();
    }

    /** AdminService.checkAccess: RMServerUtils.verifyAdminAccess's message. */
    private void checkAccess(String method) throws AccessControlException {
      if (behavior == Behavior.DENIED) {
        throw new AccessControlException(
            "User nobody doesn't have permission to call '" + method + "'");
      }
    }

    /** AdminService.checkHaStateChange. */
    private void checkHaStateChange(StateChangeRequestInfo req) throws AccessControlException {
      boolean autoFailoverEnabled;
      if (behavior == Behavior.MANUAL || behavior == Behavior.KERBEROS) {
        autoFailoverEnabled = false;
      } else if (behavior == Behavior.AUTO) {
        autoFailoverEnabled = true;
      } else {
        return;
      }
      RequestSource source = req == null ? null : req.getSource();
      if (source == null) {
        return;
      }
      switch (source) {
        case REQUEST_BY_USER:
          if (autoFailoverEnabled) {
            throw new AccessControlException(
                "Manual failover for this ResourceManager is disallowed, "
                    + "because automatic failover is enabled.");
          }
          break;
        case REQUEST_BY_USER_FORCED:
          break;
        case REQUEST_BY_ZKFC:
          if (!autoFailoverEnabled) {
            throw new AccessControlException(
                "Request from ZK failover controller at " + remoteAddress()
                    + " denied since automatic failover is not enabled");
          }
          break;
        default:
          break;
      }
    }

    private static String remoteAddress() {
      String addr = Server.getRemoteAddress();
      return addr == null ? "127.0.0.1" : addr;
    }

    private static void sleepSlow() throws IOException {
      try {
        Thread.sleep(SLOW_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while sleeping", e);
      }
    }

    @Override
    public void monitorHealth() throws IOException {
      call("monitorHealth", null);
      if (behavior == Behavior.SLOW) {
        sleepSlow();
      }
      checkAccess("monitorHealth");
      synchronized (this) {
        if (behavior == Behavior.UNHEALTHY && state == HAServiceState.ACTIVE) {
          throw new HealthCheckFailedException(
              "Active ResourceManager services are not running!");
        }
      }
    }

    @Override
    public synchronized void transitionToActive(StateChangeRequestInfo req) throws IOException {
      call("transitionToActive", req);
      if (state == HAServiceState.ACTIVE) {
        return;
      }
      checkAccess("transitionToActive");
      checkHaStateChange(req);
      if (behavior == Behavior.TRANSITION_FAILS) {
        throw new ServiceFailedException("Error when transitioning to Active mode");
      }
      state = HAServiceState.ACTIVE;
    }

    @Override
    public synchronized void transitionToStandby(StateChangeRequestInfo req) throws IOException {
      call("transitionToStandby", req);
      checkAccess("transitionToStandby");
      checkHaStateChange(req);
      if (behavior == Behavior.TRANSITION_FAILS) {
        throw new ServiceFailedException("Error when transitioning to Standby mode");
      }
      state = HAServiceState.STANDBY;
    }

    @Override
    public void transitionToObserver(StateChangeRequestInfo req) throws IOException {
      call("transitionToObserver", req);
      checkAccess("transitionToObserver");
      throw new ServiceFailedException("Does not support transition to Observer");
    }

    @Override
    public HAServiceStatus getServiceStatus() throws IOException {
      call("getServiceStatus", null);
      if (behavior == Behavior.SLOW) {
        sleepSlow();
      }
      checkAccess("getServiceState");
      synchronized (this) {
        HAServiceStatus ret = new HAServiceStatus(state);
        if (state == HAServiceState.ACTIVE || state == HAServiceState.STANDBY) {
          ret.setReadyToBecomeActive();
        } else {
          ret.setNotReadyToBecomeActive("State is " + state);
        }
        return ret;
      }
    }
  }

  /** Trivial ZKFCProtocol impl for the no-ha server. */
  static final class TrivialZkfc implements ZKFCProtocol {
    private final String token;

    TrivialZkfc(String token) {
      this.token = token;
    }

    @Override
    public void cedeActive(int millisToCede) {
      emit("CALL " + token + " cedeActive -");
    }

    @Override
    public void gracefulFailover() {
      emit("CALL " + token + " gracefulFailover -");
    }
  }

  static RPC.Server startServer(String token, Behavior behavior) throws IOException {
    Configuration conf = new Configuration();
    RPC.Builder builder = new RPC.Builder(conf);
    if (behavior == Behavior.NO_HA) {
      RPC.setProtocolEngine(conf, ZKFCProtocolPB.class, ProtobufRpcEngine2.class);
      builder.setProtocol(ZKFCProtocolPB.class)
          .setInstance(ZKFCProtocolService.newReflectiveBlockingService(
              new ZKFCProtocolServerSideTranslatorPB(new TrivialZkfc(token))));
    } else {
      if (behavior == Behavior.KERBEROS) {
        // Server.getAuthMethods reads this Configuration, so the server only
        // offers KERBEROS and answers a SIMPLE (AuthProtocol NONE) connection
        // with FATAL_UNAUTHORIZED. UGI stays SIMPLE, so no KDC/keytab is used.
        conf.set(CommonConfigurationKeysPublic.HADOOP_SECURITY_AUTHENTICATION, "kerberos");
      }
      RPC.setProtocolEngine(conf, HAServiceProtocolPB.class, ProtobufRpcEngine2.class);
      builder.setProtocol(HAServiceProtocolPB.class)
          .setInstance(HAServiceProtocolService.newReflectiveBlockingService(
              new HAServiceProtocolServerSideTranslatorPB(
                  new ScriptedHaService(token, behavior))));
    }
    RPC.Server server = builder
        .setBindAddress("127.0.0.1")
        .setPort(0)
        .setNumHandlers(1)
        .setVerbose(false)
        .build();
    server.start();
    return server;
  }

  private static void usage(String problem) {
    System.err.println("HaTestServer: " + problem);
    StringBuilder names = new StringBuilder();
    for (Behavior b : Behavior.values()) {
      names.append(names.length() == 0 ? "" : "|").append(b.cliName);
    }
    System.err.println("usage: HaTestServer BEHAVIOR[.LABEL] [BEHAVIOR[.LABEL]...]");
    System.err.println("  BEHAVIOR: " + names);
    System.exit(2);
  }

  public static void main(String[] args) throws Exception {
    quietLogging();
    if (args.length == 0) {
      usage("no behaviour given");
    }
    List<String> tokens = new ArrayList<>();
    List<Behavior> behaviors = new ArrayList<>();
    for (String arg : args) {
      Behavior b = Behavior.parse(arg);
      if (b == null) {
        usage("unknown behaviour '" + arg + "'");
      }
      if (tokens.contains(arg)) {
        usage("duplicate behaviour '" + arg + "' (add a .LABEL to tell them apart)");
      }
      tokens.add(arg);
      behaviors.add(b);
    }

    List<RPC.Server> servers = new ArrayList<>();
    try {
      for (int i = 0; i < tokens.size(); i++) {
        RPC.Server server = startServer(tokens.get(i), behaviors.get(i));
        servers.add(server);
        InetSocketAddress addr = server.getListenerAddress();
        emit("LISTEN " + tokens.get(i) + " " + addr.getPort());
      }
    } catch (Exception e) {
      System.err.println("HaTestServer: failed to start servers: " + e);
      e.printStackTrace();
      for (RPC.Server s : servers) {
        s.stop();
      }
      System.exit(1);
    }
    emit("READY");

    // Run until stdin reaches EOF (the test harness closed its end or died).
    InputStream in = System.in;
    byte[] buf = new byte[256];
    try {
      while (in.read(buf) >= 0) {
        // Input is ignored; only EOF matters.
      }
    } catch (IOException e) {
      // Treat a broken stdin like EOF.
    }
    for (RPC.Server s : servers) {
      s.stop();
    }
    System.exit(0);
  }
}
