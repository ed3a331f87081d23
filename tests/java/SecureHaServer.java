/*
 * SecureHaServer: the secure-cluster conformance peer for rmfc's Hadoop IPC
 * tests. It owns one real Hadoop RPC server with Kerberos (SASL GSSAPI) on,
 * hosting HAServiceProtocol exactly as HaTestServer's "manual" behaviour does
 * (ProtobufRpcEngine2 + HAServiceProtocolServerSideTranslatorPB, that very
 * ScriptedHaService: starts STANDBY, transitions work, REQUEST_BY_ZKFC is
 * refused). It must not script authentication: every accept or refusal is
 * Hadoop's own Server and the JDK's GSSAPI, so a test learns what a secured
 * ResourceManager would do.
 *
 * Usage:
 *   java -Djava.security.krb5.conf=KRB5_CONF [-Dhadoop.conf.KEY=VALUE...] \
 *     -cp "$JARS/*:$CLASSES" SecureHaServer PRINCIPAL KEYTAB PROTECTION
 *   PRINCIPAL   the server's own, with a host part (rm/localhost@RMFC.TEST):
 *               Hadoop's SaslRpcServer splits it into the SASL protocol (rm)
 *               and server id (localhost) it advertises to clients.
 *   KEYTAB      its keys (UserGroupInformation.loginUserFromKeytab).
 *   PROTECTION  hadoop.rpc.protection: authentication | integrity | privacy,
 *               or a comma list of them (what the server accepts).
 * Configuration: hadoop.security.authentication=kerberos,
 * hadoop.security.authorization=false (no service ACLs: the test is who
 * authenticated, not who may call), then each -Dhadoop.conf.KEY=VALUE (e.g.
 * hadoop.security.auth_to_local). Bound to 127.0.0.1 on an ephemeral port.
 *
 * stdout protocol (each line flushed):
 *   LISTEN <port>
 *   READY
 *   CALL <method> <source> <user> <auth> <qop> <short-user> <real-user>
 *       for every HAServiceProtocol call, from the handler thread:
 *       <source>     RequestSource name or "-" (as HaTestServer);
 *       <user>       Server.getRemoteUser().getUserName(): the name the server
 *                    authenticated (the client's full principal under
 *                    Kerberos), or the effective user it claimed when that
 *                    differs (a proxy user);
 *       <auth>       its getAuthenticationMethod(): KERBEROS, PROXY, ...;
 *       <qop>        the connection's negotiated SASL QOP (auth, auth-int,
 *                    auth-conf) or "-";
 *       <short-user> getShortUserName() (auth_to_local applied);
 *       <real-user>  getRealUser()'s name for a proxy user, else "-".
 *   AUTH <LEVEL> <message>
 *       Hadoop's own authentication log (SecurityLogger of ipc.Server:
 *       "Auth successful for ...", "Auth failed for <ip:port>:<user>") and
 *       ipc.Server's report of why a connection was dropped ("readAndProcess
 *       from client ... threw exception [...]"), one line each.
 * Other lines may appear (the JDK's -Dsun.security.krb5.debug=true output
 * goes to stdout); readers must ignore them. Other logging (log4j2) goes to
 * stderr at WARN (override: -Dhatest.log.level=). Runs until stdin reaches
 * EOF (then stops the server and exits 0) or it is killed; exits 1 when the
 * login or the server fails to start, 2 on usage errors.
 */

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.Map;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CommonConfigurationKeysPublic;
import org.apache.hadoop.ha.HAServiceProtocol.StateChangeRequestInfo;
import org.apache.hadoop.ha.proto.HAServiceProtocolProtos.HAServiceProtocolService;
import org.apache.hadoop.ha.protocolPB.HAServiceProtocolPB;
import org.apache.hadoop.ha.protocolPB.HAServiceProtocolServerSideTranslatorPB;
import org.apache.hadoop.ipc.ProtobufRpcEngine2;
import org.apache.hadoop.ipc.RPC;
import org.apache.hadoop.ipc.Server;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.Filter;
import org.apache.logging.log4j.core.appender.ConsoleAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilder;
import org.apache.logging.log4j.core.config.builder.impl.BuiltConfiguration;

public final class SecureHaServer {

  private SecureHaServer() {}

  /** The manual behaviour, with a CALL line that says who called. */
  static final class WhoCalled extends HaTestServer.ScriptedHaService {
    WhoCalled() {
      super("secure", HaTestServer.Behavior.MANUAL);
    }

    @Override
    void call(String method, StateChangeRequestInfo req) {
      UserGroupInformation remote = Server.getRemoteUser();
      String user = remote == null ? "-" : remote.getUserName();
      String auth = remote == null ? "-" : String.valueOf(remote.getAuthenticationMethod());
      String shortUser = "-";
      String realUser = "-";
      if (remote != null) {
        try {
          shortUser = remote.getShortUserName();
        } catch (RuntimeException e) {
          // No auth_to_local rule maps it; say so rather than fail the call.
          shortUser = "!unmapped";
        }
        if (remote.getRealUser() != null) {
          realUser = remote.getRealUser().getUserName();
        }
      }
      HaTestServer.emit("CALL " + method + " " + sourceName(req) + " " + user + " " + auth
          + " " + establishedQop() + " " + shortUser + " " + realUser);
    }
  }

  /**
   * The current call's negotiated QOP. Hadoop 3.5 publishes it only for
   * auxiliary ports (Server.getAuxiliaryPortEstablishedQOP), so read the
   * connection's own getEstablishedQOP() (set for every SASL connection)
   * through the RpcCall's package-private connection field.
   */
  static String establishedQop() {
    try {
      Object call = Server.getCurCall().get();
      if (call == null) {
        return "-";
      }
      Field field = null;
      for (Class<?> c = call.getClass(); c != null && field == null; c = c.getSuperclass()) {
        try {
          field = c.getDeclaredField("connection");
        } catch (NoSuchFieldException e) {
          // Look in the superclass.
        }
      }
      if (field == null) {
        return "-";
      }
      field.setAccessible(true);
      Object connection = field.get(call);
      Method qop = connection.getClass().getMethod("getEstablishedQOP");
      qop.setAccessible(true);
      Object value = qop.invoke(connection);
      return value == null ? "-" : value.toString();
    } catch (ReflectiveOperationException | RuntimeException e) {
      return "?" + e.getClass().getSimpleName();
    }
  }

  /**
   * HaTestServer's logging plus the AUTH lines: Hadoop's authentication
   * audit log and ipc.Server's dropped-connection reports, on stdout, one
   * line each (newlines in messages folded, no stack traces).
   */
  static void logging() {
    ConfigurationBuilder<BuiltConfiguration> b = HaTestServer.quietLoggingBuilder();
    b.add(b.newAppender("auth", "Console")
        .addAttribute("target", ConsoleAppender.Target.SYSTEM_OUT)
        .add(b.newLayout("PatternLayout")
            .addAttribute("pattern", "AUTH %p %replace{%m}{[\\r\\n]+}{ | }%n")
            .addAttribute("alwaysWriteExceptions", false)));
    b.add(b.newLogger("SecurityLogger." + Server.class.getName(), Level.INFO)
        .add(b.newAppenderRef("auth"))
        .addAttribute("additivity", false));
    // ipc.Server logs why it dropped a connection (the SASL failure's cause)
    // at INFO; only those lines become AUTH lines, the rest stays at WARN on
    // stderr through the root logger.
    b.add(b.newLogger(Server.class.getName(), Level.INFO)
        .add(b.newAppenderRef("auth")
            .add(b.newFilter("RegexFilter", Filter.Result.ACCEPT, Filter.Result.DENY)
                .addAttribute("regex", ".*readAndProcess from client .*")))
        .add(b.newAppenderRef("stderr")
            .add(b.newFilter("ThresholdFilter", Filter.Result.ACCEPT, Filter.Result.DENY)
                .addAttribute("level", Level.WARN)))
        .addAttribute("additivity", false));
    Configurator.reconfigure(b.build());
  }

  private static void usage(String problem) {
    System.err.println("SecureHaServer: " + problem);
    System.err.println("usage: SecureHaServer PRINCIPAL KEYTAB PROTECTION");
    System.err.println("  PROTECTION: authentication|integrity|privacy or a comma list");
    System.exit(2);
  }

  public static void main(String[] args) throws Exception {
    logging();
    if (args.length != 3) {
      usage("need PRINCIPAL KEYTAB PROTECTION");
    }
    String principal = args[0];
    String keytab = args[1];
    String protection = args[2];
    if (System.getProperty("java.security.krb5.conf") == null) {
      // Else the JDK reads /etc/krb5.conf, which tests must never use.
      usage("-Djava.security.krb5.conf is required");
    }

    Configuration conf = new Configuration();
    conf.set(CommonConfigurationKeysPublic.HADOOP_SECURITY_AUTHENTICATION, "kerberos");
    conf.setBoolean(CommonConfigurationKeysPublic.HADOOP_SECURITY_AUTHORIZATION, false);
    conf.set(CommonConfigurationKeysPublic.HADOOP_RPC_PROTECTION, protection);
    for (Map.Entry<Object, Object> e : System.getProperties().entrySet()) {
      String key = String.valueOf(e.getKey());
      if (key.startsWith("hadoop.conf.")) {
        conf.set(key.substring("hadoop.conf.".length()), String.valueOf(e.getValue()));
      }
    }

    RPC.Server server;
    try {
      // The login must come first: the server takes its SASL protocol and
      // server id from the login user when a client connects, and only offers
      // KERBEROS once UserGroupInformation says security is on.
      UserGroupInformation.setConfiguration(conf);
      UserGroupInformation.loginUserFromKeytab(principal, keytab);
      RPC.setProtocolEngine(conf, HAServiceProtocolPB.class, ProtobufRpcEngine2.class);
      server = new RPC.Builder(conf)
          .setProtocol(HAServiceProtocolPB.class)
          .setInstance(HAServiceProtocolService.newReflectiveBlockingService(
              new HAServiceProtocolServerSideTranslatorPB(new WhoCalled())))
          .setBindAddress("127.0.0.1")
          .setPort(0)
          .setNumHandlers(1)
          .setVerbose(false)
          .build();
      server.start();
    } catch (Exception e) {
      System.err.println("SecureHaServer: failed to start as " + principal + ": " + e);
      e.printStackTrace();
      System.exit(1);
      return;
    }
    HaTestServer.emit("LISTEN " + server.getListenerAddress().getPort());
    HaTestServer.emit("READY");

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
    server.stop();
    System.exit(0);
  }
}
