// EmbeddedElectorRm: a stand-in for a ResourceManager with YARN's embedded leader election,
// the baseline rmfc is compared against (benches/elector_compare/, tests/elector_peer.rs).
//
// What it owns: running Hadoop's real org.apache.hadoop.ha.ActiveStandbyElector (from
// hadoop-client-api-3.5.0.jar, with ZooKeeper 3.9.5 relocated by .ci/fetch-hadoop-jars) with
// YARN's defaults, and reacting to its callbacks the way YARN 3.x's
// ActiveStandbyElectorBasedElectorService does:
//   - becomeActive     -> cancel the disconnect timer, transitionToActive
//   - becomeStandby    -> cancel the disconnect timer, transitionToStandby
//   - enterNeutralMode -> start a timer of yarn.resourcemanager.zk-timeout-ms; when it fires
//                         (the connection did not come back), transitionToStandby
//   - fenceOldActive   -> nothing ("embedded leader election doesn't support fencing")
//   - notifyFatalError -> the RM's RMFatalEventDispatcher in an HA setup: transitionToStandby
//                         and rejoin the election
// The parent znode is yarn.resourcemanager.ha.automatic-failover.zk-base-path
// (/yarn-leader-election) + "/" + cluster id; the elector keeps ActiveStandbyElectorLock and
// ActiveBreadCrumb under it.
//
// What it must not do: pretend to be more than the election. There are no RM services, so a
// transition is instantaneous here (a real RM starts or stops its active services inside the
// transition); the breadcrumb holds the RM id, not YARN's ActiveRMInfoProto (that class lives
// in the yarn-server jars, which are not available), so YARN's isParentZnodeSafe check is
// skipped.
//
// Output: stdout carries only JSON lines, one per event, with a wall-clock timestamp:
//   {"ts_ms":..., "rm":"rm1", "state":"standby"|"active"}   on every HA state change
//   {"ts_ms":..., "rm":"rm1", "event":"started"|"neutral"|"fatal", ...}
// Hadoop's own logging goes to stderr. The process exits when its stdin closes, so it never
// outlives the test harness that started it.
//
// Usage: EmbeddedElectorRm RM_ID ZK_CONNECT CLUSTER_ID

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Timer;
import java.util.TimerTask;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.CommonConfigurationKeys;
import org.apache.hadoop.ha.ActiveStandbyElector;
import org.apache.hadoop.ha.ServiceFailedException;
import org.apache.hadoop.shaded.org.apache.zookeeper.ZooDefs;
import org.apache.hadoop.yarn.conf.YarnConfiguration;

public class EmbeddedElectorRm implements ActiveStandbyElector.ActiveStandbyElectorCallback {
  // Captured before anything logs: System.out is then pointed at stderr, so log4j's default
  // console appender (which writes to "System.out") cannot interleave with the JSON lines.
  private static final PrintStream JSON = System.out;

  private final String rmId;
  private final long zkSessionTimeout;
  private final Object zkDisconnectLock = new Object();
  private Timer zkDisconnectTimer;
  private ActiveStandbyElector elector;
  private byte[] localActiveNodeInfo;
  private String haState = "initializing";

  EmbeddedElectorRm(String rmId, long zkSessionTimeout) {
    this.rmId = rmId;
    this.zkSessionTimeout = zkSessionTimeout;
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ") + "\"";
  }

  private void emit(String key, String value, String extra) {
    synchronized (JSON) {
      JSON.println("{\"ts_ms\":" + System.currentTimeMillis() + ",\"rm\":" + quote(rmId) + ",\"" + key
          + "\":" + quote(value) + extra + "}");
      JSON.flush();
    }
  }

  // The RM's AdminService.transitionToActive/transitionToStandby, minus the services.
  private synchronized void transitionTo(String state) {
    if (!state.equals(haState)) {
      haState = state;
      emit("state", state, "");
    }
  }

  @Override
  public void becomeActive() throws ServiceFailedException {
    cancelDisconnectTimer();
    transitionTo("active");
  }

  @Override
  public void becomeStandby() {
    cancelDisconnectTimer();
    transitionTo("standby");
  }

  private void cancelDisconnectTimer() {
    synchronized (zkDisconnectLock) {
      if (zkDisconnectTimer != null) {
        zkDisconnectTimer.cancel();
        zkDisconnectTimer = null;
      }
    }
  }

  // YARN does not demote at once when the connection drops (the session may survive); it waits
  // one session timeout and demotes only if the elector has not called back in the meantime.
  @Override
  public void enterNeutralMode() {
    emit("event", "neutral", "");
    synchronized (zkDisconnectLock) {
      if (zkDisconnectTimer == null) {
        zkDisconnectTimer = new Timer("Zookeeper disconnect timer", true);
        zkDisconnectTimer.schedule(new TimerTask() {
          @Override
          public void run() {
            synchronized (zkDisconnectLock) {
              if (zkDisconnectTimer != null) {
                becomeStandby();
              }
            }
          }
        }, zkSessionTimeout);
      }
    }
  }

  // In an HA setup the RM's fatal-event handler goes to standby and rejoins the election
  // (ResourceManager.handleTransitionToStandByInNewThread).
  @Override
  public void notifyFatalError(String errorMessage) {
    emit("event", "fatal", ",\"message\":" + quote(errorMessage));
    new Thread(() -> {
      transitionTo("standby");
      elector.quitElection(false);
      elector.joinElection(localActiveNodeInfo);
    }, "fatal-event-handler").start();
  }

  @Override
  public void fenceOldActive(byte[] oldActiveData) {
    // YARN: "Request to fence old active being ignored, as embedded leader election doesn't
    // support fencing".
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: EmbeddedElectorRm RM_ID ZK_CONNECT CLUSTER_ID");
      System.exit(2);
    }
    System.setOut(System.err);
    String rmId = args[0];
    String zkQuorum = args[1];
    String clusterId = args[2];

    // YARN's defaults, read through YARN's own configuration keys (overridable with -D).
    YarnConfiguration conf = new YarnConfiguration(new Configuration(false));
    for (String name : System.getProperties().stringPropertyNames()) {
      if (name.startsWith("yarn.") || name.startsWith("ha.")) {
        conf.set(name, System.getProperty(name));
      }
    }
    long zkSessionTimeout = conf.getLong(YarnConfiguration.RM_ZK_TIMEOUT_MS,
        YarnConfiguration.DEFAULT_RM_ZK_TIMEOUT_MS);
    int maxRetryNum = conf.getInt(YarnConfiguration.RM_HA_FC_ELECTOR_ZK_RETRIES_KEY,
        conf.getInt(CommonConfigurationKeys.HA_FC_ELECTOR_ZK_OP_RETRIES_KEY,
            CommonConfigurationKeys.HA_FC_ELECTOR_ZK_OP_RETRIES_DEFAULT));
    String zkBasePath = conf.get(YarnConfiguration.AUTO_FAILOVER_ZK_BASE_PATH,
        YarnConfiguration.DEFAULT_AUTO_FAILOVER_ZK_BASE_PATH);
    String electionZNode = zkBasePath + "/" + clusterId;

    EmbeddedElectorRm rm = new EmbeddedElectorRm(rmId, zkSessionTimeout);
    rm.localActiveNodeInfo = rmId.getBytes(StandardCharsets.UTF_8);
    // yarn.resourcemanager.zk-acl defaults to world:anyone:rwcda; no auths by default. The
    // elector is built like YARN builds it: failFast=false, no TLS truststore.
    rm.elector = new ActiveStandbyElector(zkQuorum, (int) zkSessionTimeout, electionZNode,
        ZooDefs.Ids.OPEN_ACL_UNSAFE, Collections.emptyList(), rm, maxRetryNum, false, null);
    rm.elector.ensureParentZNode();
    // An RM starts in standby (transitionToStandby in serviceStart) before the elector joins.
    rm.transitionTo("standby");
    rm.emit("event", "started", ",\"pid\":" + ProcessHandle.current().pid()
        + ",\"zk_session_timeout_ms\":" + zkSessionTimeout + ",\"zk_retries\":" + maxRetryNum
        + ",\"znode\":" + quote(electionZNode));
    rm.elector.joinElection(rm.localActiveNodeInfo);

    // Lives until the harness closes our stdin (or kills us).
    while (System.in.read() != -1) {
      // Input is ignored; only end-of-stream matters.
    }
    System.exit(0);
  }
}
