/*
 * HaTestClient: conformance peer for rmfc's Hadoop IPC tests.
 *
 * Drives an HAServiceProtocol endpoint (rmfc's fake/real RM admin port, or
 * HaTestServer) using only Hadoop's own client classes:
 * HAServiceProtocolClientSideTranslatorPB over ProtobufRpcEngine2, SIMPLE auth.
 *
 * Usage:
 *   java [-Dtimeout.ms=10000] -cp "$JARS/*:$CLASSES" HaTestClient HOST:PORT CMD [CMD...]
 *   CMD: status | health | active:SOURCE | standby:SOURCE
 *        SOURCE: user (REQUEST_BY_USER) | forced (REQUEST_BY_USER_FORCED)
 *                | zkfc (REQUEST_BY_ZKFC)
 *
 * Commands run in order over one proxy; each prints exactly one line on stdout
 * (flushed):
 *   OK status <STATE> ready=<true|false>[ reason=<text>]   STATE: ACTIVE, STANDBY, ...
 *   OK health | OK active | OK standby
 *   ERR <cmd> <exceptionClass> <first line of message>
 * For a RemoteException the class is the server-side class name
 * (RemoteException.getClassName()). Exit 0 once all commands ran, 2 on usage
 * errors. -Dtimeout.ms sets the per-call RPC timeout (default 10000);
 * connection attempts are not retried. Extra Hadoop settings may be passed as
 * -Dhadoop.conf.<key>=<value>. Logging (log4j2) goes to stderr at WARN
 * (override: -Dhatest.log.level=).
 *
 * Kerberos: with -Dlogin.principal=P -Dlogin.keytab=K (and
 * -Djava.security.krb5.conf=F) the client runs as a secure Hadoop client does:
 * hadoop.security.authentication=kerberos, UserGroupInformation logged in
 * from the keytab, so the connection authenticates with SASL GSSAPI. The
 * server's principal comes from HAServiceProtocolPB's @KerberosInfo key,
 * -Dhadoop.conf.hadoop.security.service.user.name.key=rm/localhost@REALM, and
 * the protection from -Dhadoop.conf.hadoop.rpc.protection=. A failed login
 * prints "ERR login <exceptionClass> <first line of message>" and exits 1.
 */

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CommonConfigurationKeysPublic;
import org.apache.hadoop.ha.HAServiceProtocol.RequestSource;
import org.apache.hadoop.ha.HAServiceProtocol.StateChangeRequestInfo;
import org.apache.hadoop.ha.HAServiceStatus;
import org.apache.hadoop.ha.protocolPB.HAServiceProtocolClientSideTranslatorPB;
import org.apache.hadoop.ipc.RemoteException;
import org.apache.hadoop.net.NetUtils;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.appender.ConsoleAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilder;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilderFactory;
import org.apache.logging.log4j.core.config.builder.impl.BuiltConfiguration;

public final class HaTestClient {

  private static final PrintStream OUT = System.out;

  private HaTestClient() {}

  private static void emit(String line) {
    OUT.println(line);
    OUT.flush();
  }

  /** log4j2 to stderr only (stdout carries the result lines). */
  private static void quietLogging() {
    Level level = Level.toLevel(System.getProperty("hatest.log.level", "WARN"), Level.WARN);
    ConfigurationBuilder<BuiltConfiguration> b =
        ConfigurationBuilderFactory.newConfigurationBuilder();
    b.setStatusLevel(Level.ERROR);
    b.setConfigurationName("hatest");
    b.add(b.newAppender("stderr", "Console")
        .addAttribute("target", ConsoleAppender.Target.SYSTEM_ERR)
        .add(b.newLayout("PatternLayout")
            .addAttribute("pattern", "%d{HH:mm:ss.SSS} %-5p %c{1}: %m%n")));
    b.add(b.newLogger("org.apache.hadoop.util.NativeCodeLoader", Level.ERROR));
    b.add(b.newRootLogger(level).add(b.newAppenderRef("stderr")));
    Configurator.reconfigure(b.build());
  }

  private static void usage(String problem) {
    System.err.println("HaTestClient: " + problem);
    System.err.println("usage: HaTestClient HOST:PORT CMD [CMD...]");
    System.err.println("  CMD: status | health | active:SOURCE | standby:SOURCE");
    System.err.println("  SOURCE: user | forced | zkfc");
    System.exit(2);
  }

  private static RequestSource parseSource(String s) {
    switch (s) {
      case "user":
        return RequestSource.REQUEST_BY_USER;
      case "forced":
        return RequestSource.REQUEST_BY_USER_FORCED;
      case "zkfc":
        return RequestSource.REQUEST_BY_ZKFC;
      default:
        return null;
    }
  }

  /** Validates a command; returns an error text or null. */
  private static String checkCommand(String cmd) {
    if (cmd.equals("status") || cmd.equals("health")) {
      return null;
    }
    int colon = cmd.indexOf(':');
    if (colon < 0) {
      return "unknown command '" + cmd + "'";
    }
    String verb = cmd.substring(0, colon);
    if (!verb.equals("active") && !verb.equals("standby")) {
      return "unknown command '" + cmd + "'";
    }
    if (parseSource(cmd.substring(colon + 1)) == null) {
      return "unknown source in '" + cmd + "' (user|forced|zkfc)";
    }
    return null;
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    String line = nl < 0 ? s : s.substring(0, nl);
    return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
  }

  private static String run(HAServiceProtocolClientSideTranslatorPB proxy, String cmd)
      throws IOException {
    switch (cmd) {
      case "status": {
        HAServiceStatus st = proxy.getServiceStatus();
        StringBuilder sb = new StringBuilder("OK status ");
        sb.append(st.getState().name()).append(" ready=").append(st.isReadyToBecomeActive());
        String reason = st.getNotReadyReason();
        if (reason != null && !reason.isEmpty()) {
          sb.append(" reason=").append(firstLine(reason));
        }
        return sb.toString();
      }
      case "health":
        proxy.monitorHealth();
        return "OK health";
      default: {
        int colon = cmd.indexOf(':');
        String verb = cmd.substring(0, colon);
        StateChangeRequestInfo req =
            new StateChangeRequestInfo(parseSource(cmd.substring(colon + 1)));
        if (verb.equals("active")) {
          proxy.transitionToActive(req);
          return "OK active";
        }
        proxy.transitionToStandby(req);
        return "OK standby";
      }
    }
  }

  private static String describe(String cmd, Throwable t) {
    String cls;
    String msg;
    if (t instanceof RemoteException) {
      RemoteException re = (RemoteException) t;
      cls = re.getClassName();
      msg = re.getMessage();
    } else {
      cls = t.getClass().getName();
      msg = t.getMessage();
    }
    return "ERR " + cmd + " " + cls + " " + firstLine(msg);
  }

  public static void main(String[] args) {
    quietLogging();
    if (args.length < 2) {
      usage("need HOST:PORT and at least one command");
    }
    int colon = args[0].lastIndexOf(':');
    if (colon <= 0 || colon == args[0].length() - 1) {
      usage("bad address '" + args[0] + "', expected HOST:PORT");
    }
    String host = args[0].substring(0, colon);
    int port = -1;
    try {
      port = Integer.parseInt(args[0].substring(colon + 1));
    } catch (NumberFormatException e) {
      usage("bad port in '" + args[0] + "'");
    }
    for (int i = 1; i < args.length; i++) {
      String problem = checkCommand(args[i]);
      if (problem != null) {
        usage(problem);
      }
    }
    int timeoutMs = 10_000;
    try {
      timeoutMs = Integer.parseInt(System.getProperty("timeout.ms", "10000"));
    } catch (NumberFormatException e) {
      usage("bad -Dtimeout.ms");
    }

    Configuration conf = new Configuration();
    // Fail fast: one connection attempt, bounded by the call timeout.
    conf.setInt(CommonConfigurationKeysPublic.IPC_CLIENT_CONNECT_MAX_RETRIES_KEY, 0);
    conf.setInt(
        CommonConfigurationKeysPublic.IPC_CLIENT_CONNECT_MAX_RETRIES_ON_SOCKET_TIMEOUTS_KEY, 0);
    conf.setInt(CommonConfigurationKeysPublic.IPC_CLIENT_CONNECT_TIMEOUT_KEY, timeoutMs);
    for (Map.Entry<Object, Object> e : System.getProperties().entrySet()) {
      String key = String.valueOf(e.getKey());
      if (key.startsWith("hadoop.conf.")) {
        conf.set(key.substring("hadoop.conf.".length()), String.valueOf(e.getValue()));
      }
    }

    String principal = System.getProperty("login.principal");
    if (principal != null) {
      // After the hadoop.conf.* settings: the login reads the Configuration,
      // and the proxy's SASL client takes the protection from it.
      conf.set(CommonConfigurationKeysPublic.HADOOP_SECURITY_AUTHENTICATION, "kerberos");
      try {
        UserGroupInformation.setConfiguration(conf);
        UserGroupInformation.loginUserFromKeytab(principal, System.getProperty("login.keytab", ""));
      } catch (Throwable t) {
        emit(describe("login", t));
        System.exit(1);
      }
    }

    InetSocketAddress addr = NetUtils.createSocketAddr(host, port);
    HAServiceProtocolClientSideTranslatorPB proxy = null;
    for (int i = 1; i < args.length; i++) {
      String cmd = args[i];
      String line;
      try {
        if (proxy == null) {
          proxy = new HAServiceProtocolClientSideTranslatorPB(
              addr, conf, NetUtils.getDefaultSocketFactory(conf), timeoutMs);
        }
        line = run(proxy, cmd);
      } catch (Throwable t) {
        line = describe(cmd, t);
      }
      emit(line);
    }
    if (proxy != null) {
      proxy.close();
    }
    System.exit(0);
  }
}
