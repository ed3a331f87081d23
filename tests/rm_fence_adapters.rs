//! The RM and fence adapters against real peers: simulated RMs (`rmfc sim-rm` processes, driven
//! over Hadoop IPC and REST), a real ZooKeeper holding their fenced state store, real shell
//! commands and a local HTTP endpoint. Faults come from outside: SIGSTOP, SIGKILL, injected
//! health failures, a web side that redirects or is gone.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rmfc::core::health::ProbeOutcome;
use rmfc::core::io::{FenceStep, TargetState};
use rmfc::core::types::OpId;
use rmfc::core::{Action, Event};
use rmfc::fence::{FenceAdapter, FenceAdapterConfig, FenceMethodCfg, DEFAULT_STORE_ROOT};
use rmfc::hadoop_ipc::{HaState, RequestSource};
use rmfc::rm::{RmAdapter, RmAdapterConfig, RmEndpointCfg};
use support::sim::SimRmProcess;
use support::wait::wait_for;
use support::zk::ZkServer;
use tokio::runtime::Runtime;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Scheduling slack on a busy 2-CPU CI machine.
const SLACK: Duration = Duration::from_millis(1500);
const EVENT_DEADLINE: Duration = Duration::from_secs(20);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

fn endpoint(rm: &SimRmProcess) -> RmEndpointCfg {
    RmEndpointCfg { admin_address: rm.admin.clone(), web_address: format!("http://{}", rm.web) }
}

fn endpoints(rms: &[&SimRmProcess]) -> BTreeMap<String, RmEndpointCfg> {
    rms.iter().map(|rm| (rm.id.clone(), endpoint(rm))).collect()
}

fn next_event(rt: &Runtime, rx: &mut UnboundedReceiver<Event>) -> Event {
    rt.block_on(async { tokio::time::timeout(EVENT_DEADLINE, rx.recv()).await })
        .expect("the adapter reported nothing in time")
        .expect("event channel open")
}

/// An RM adapter on its own runtime, with the receiving end of its events.
struct Rms {
    rt: Runtime,
    adapter: RmAdapter,
    rx: UnboundedReceiver<Event>,
    next_op: u64,
}

impl Rms {
    fn new(local: &str, rms: BTreeMap<String, RmEndpointCfg>, rest: bool) -> Self {
        let cfg = RmAdapterConfig {
            local_rm: local.into(),
            rms,
            probe_timeout: PROBE_TIMEOUT,
            rest,
            request_source: RequestSource::User,
            user: None,
            auth: rmfc::hadoop_ipc::ClientAuth::Simple,
            activate_timeout: Duration::from_secs(10),
            standby_timeout: Duration::from_secs(5),
        };
        let rt = runtime();
        let (tx, rx) = unbounded_channel();
        let adapter = RmAdapter::new(cfg, tx);
        Rms { rt, adapter, rx, next_op: 0 }
    }

    fn probe(&self, rm: &str) -> ProbeOutcome {
        self.rt.block_on(self.adapter.probe(rm))
    }

    /// `Action::Probe` through `execute`, answered by `Event::Probed` with the same op.
    fn execute_probe(&mut self) -> ProbeOutcome {
        self.next_op += 1;
        let op = OpId(self.next_op);
        self.rt.block_on(async { self.adapter.execute(Action::Probe { op }) });
        match next_event(&self.rt, &mut self.rx) {
            Event::Probed { op: got, outcome } if got == op => outcome,
            other => panic!("expected Probed for {op:?}, got {other:?}"),
        }
    }

    fn transition(&mut self, rm: &str, to: TargetState, epoch: u64) -> Result<(), String> {
        self.next_op += 1;
        let op = OpId(self.next_op);
        let action = Action::Transition { op, rm: rm.into(), to, epoch, reason: "test".into() };
        self.rt.block_on(async { self.adapter.execute(action) });
        match next_event(&self.rt, &mut self.rx) {
            Event::TransitionDone { op: got, result } if got == op => result,
            other => panic!("expected TransitionDone for {op:?}, got {other:?}"),
        }
    }
}

/// A fence adapter on its own runtime, with the receiving end of its events.
struct Fencer {
    rt: Runtime,
    adapter: FenceAdapter,
    rx: UnboundedReceiver<Event>,
    next_op: u64,
}

impl Fencer {
    fn new(rms: BTreeMap<String, RmEndpointCfg>, methods: Vec<FenceMethodCfg>, zk: &str) -> Self {
        let cfg = FenceAdapterConfig {
            cluster_id: "test-cluster".into(),
            rms,
            graceful_timeout: Duration::from_secs(2),
            request_source: RequestSource::User,
            user: None,
            auth: rmfc::hadoop_ipc::ClientAuth::Simple,
            methods,
            store_zk_connect: zk.into(),
            store_zk_security: Default::default(),
        };
        let rt = runtime();
        let (tx, rx) = unbounded_channel();
        let adapter = FenceAdapter::new(cfg, tx);
        Fencer { rt, adapter, rx, next_op: 0 }
    }

    fn fence(&mut self, target: &str, step: FenceStep, epoch: u64) -> Result<(), String> {
        self.next_op += 1;
        let op = OpId(self.next_op);
        self.rt.block_on(async { self.adapter.execute(Action::Fence { op, target: target.into(), step, epoch }) });
        match next_event(&self.rt, &mut self.rx) {
            Event::FenceDone { op: got, result } if got == op => result,
            other => panic!("expected FenceDone for {op:?}, got {other:?}"),
        }
    }

    fn verify(&mut self, epoch: u64) -> Result<(), String> {
        self.next_op += 1;
        let op = OpId(self.next_op);
        self.rt.block_on(async { self.adapter.execute(Action::VerifyStoreFence { op, epoch }) });
        match next_event(&self.rt, &mut self.rx) {
            Event::StoreFenceVerified { op: got, result } if got == op => result,
            other => panic!("expected StoreFenceVerified for {op:?}, got {other:?}"),
        }
    }
}

/// SIGSTOP is asynchronous: `kill` returns before every thread of the target has stopped.
fn healthy(state: HaState) -> ProbeOutcome {
    ProbeOutcome::Healthy { state }
}

#[test]
fn probes_tell_healthy_unhealthy_slow_and_dead_apart() {
    let mut rm1 = SimRmProcess::start("rm1", &[]);
    let mut rms = Rms::new("rm1", endpoints(&[&rm1]), true);

    assert_eq!(rms.probe("rm1"), healthy(HaState::Standby));
    assert_eq!(rms.execute_probe(), healthy(HaState::Standby), "Action::Probe probes the local RM");

    assert_eq!(rm1.rm_admin(&["transition-to-active"]).0, 0);
    assert_eq!(rms.probe("rm1"), healthy(HaState::Active));

    rm1.set_faults(r#"{"unhealthy": true}"#);
    match rms.probe("rm1") {
        ProbeOutcome::Unhealthy { state: Some(HaState::Active), message } => {
            assert!(message.contains("not running"), "the RM's own message: {message}")
        }
        other => panic!("an active RM whose services are down is unhealthy, got {other:?}"),
    }
    rm1.set_faults(r#"{"unhealthy": false}"#);
    assert_eq!(rms.probe("rm1"), healthy(HaState::Active));

    // SIGSTOP: the kernel still accepts connections, nothing answers: a miss at the deadline.
    rm1.stop();
    let started = Instant::now();
    assert_eq!(rms.probe("rm1"), ProbeOutcome::TimedOut);
    let took = started.elapsed();
    assert!(took >= PROBE_TIMEOUT - Duration::from_millis(50) && took < PROBE_TIMEOUT + SLACK, "took {took:?}");
    rm1.cont();
    assert_eq!(rms.probe("rm1"), healthy(HaState::Active), "the probe connection recovers after a miss");

    // SIGKILL: the kept connection breaks, a fresh one is refused: dead, not "unusable".
    rm1.kill();
    let started = Instant::now();
    assert_eq!(rms.probe("rm1"), ProbeOutcome::Refused);
    assert!(started.elapsed() < PROBE_TIMEOUT, "a dead RM is known at once, took {:?}", started.elapsed());
    assert_eq!(rms.probe("rm1"), ProbeOutcome::Refused);

    match rms.probe("rm9") {
        ProbeOutcome::Failed { reason } => assert!(reason.contains("rm9"), "{reason}"),
        other => panic!("an unknown RM cannot be probed, got {other:?}"),
    }
}

/// A one-request-at-a-time HTTP server on loopback answering every request with `reply`; each
/// request (head and body) is sent to the returned channel.
fn http_server(reply: &'static str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr").to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
            let mut request = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                request.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            request.push_str(&String::from_utf8_lossy(&body));
            let _ = tx.send(request);
            if reply.is_empty() {
                std::thread::sleep(Duration::from_secs(30));
                continue;
            }
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    (addr, rx)
}

#[test]
fn rest_probing_is_optional_and_never_follows_a_redirect() {
    let rm1 = SimRmProcess::start("rm1", &[]);
    let (redirector, _) = http_server(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:1/ws/v1/cluster/info\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    let dead_port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").to_string()
    };

    let with_web = |web: String| {
        BTreeMap::from([("rm1".to_string(), RmEndpointCfg { admin_address: rm1.admin.clone(), web_address: web })])
    };
    // The sim's web address without a scheme: http:// is implied.
    let ok = Rms::new("rm1", with_web(rm1.web.clone()), true);
    assert_eq!(ok.probe("rm1"), healthy(HaState::Standby), "a standby answers /ws/v1/cluster/info itself");

    let redirected = Rms::new("rm1", with_web(format!("http://{redirector}")), true);
    match redirected.probe("rm1") {
        ProbeOutcome::Unhealthy { state: Some(HaState::Standby), message } => {
            assert!(message.starts_with(&format!("REST http://{redirector}/ws/v1/cluster/info: ")), "{message}");
            assert!(message.contains("307") && message.contains("not followed"), "{message}");
        }
        other => panic!("a redirect is a REST failure, got {other:?}"),
    }

    let gone = Rms::new("rm1", with_web(format!("http://{dead_port}")), true);
    match gone.probe("rm1") {
        ProbeOutcome::Unhealthy { state: Some(HaState::Standby), message } => {
            assert!(message.starts_with("REST http://"), "{message}")
        }
        other => panic!("a dead web side makes the RM unhealthy, got {other:?}"),
    }

    let ipc_only = Rms::new("rm1", with_web(format!("http://{dead_port}")), false);
    assert_eq!(ipc_only.probe("rm1"), healthy(HaState::Standby), "rest: false never touches the web side");

    // A dead RM whose web address hangs: known dead at once, not when the REST call times out.
    let (silent, _) = http_server("");
    let dead = BTreeMap::from([(
        "rm1".to_string(),
        RmEndpointCfg { admin_address: dead_port.clone(), web_address: format!("http://{silent}") },
    )]);
    let dead = Rms::new("rm1", dead, true);
    let started = Instant::now();
    assert_eq!(dead.probe("rm1"), ProbeOutcome::Refused);
    assert!(started.elapsed() < PROBE_TIMEOUT, "took {:?}", started.elapsed());
}

#[test]
fn transitions_go_to_any_rm_and_report_the_rms_answer() {
    let rm1 = SimRmProcess::start("rm1", &[]);
    let mut rm2 = SimRmProcess::start("rm2", &[]);
    let mut rms = Rms::new("rm1", endpoints(&[&rm1, &rm2]), false);

    assert_eq!(rms.transition("rm2", TargetState::Active, 3), Ok(()));
    assert_eq!(rm2.ha_state().as_deref(), Some("active"));
    assert_eq!(rms.transition("rm2", TargetState::Active, 3), Ok(()), "already active: a no-op");
    assert_eq!(rms.transition("rm2", TargetState::Standby, 4), Ok(()));
    assert_eq!(rm2.ha_state().as_deref(), Some("standby"));
    assert_eq!(rms.transition("rm1", TargetState::Active, 5), Ok(()));
    assert_eq!(rm1.ha_state().as_deref(), Some("active"));

    let err = rms.transition("rm7", TargetState::Active, 5).unwrap_err();
    assert!(err.contains("rm7"), "{err}");
    rm2.kill();
    let err = rms.transition("rm2", TargetState::Active, 6).unwrap_err();
    assert!(err.contains("not running"), "{err}");

    // An RM in mode B refuses REQUEST_BY_USER; the error tells the operator what to change.
    let rm3 = SimRmProcess::start("rm3", &["--automatic-failover"]);
    let mut rms = Rms::new("rm3", endpoints(&[&rm3]), false);
    let err = rms.transition("rm3", TargetState::Active, 1).unwrap_err();
    assert!(err.contains("automatic failover is enabled") && err.contains("request_source"), "{err}");
}

#[test]
fn graceful_fencing_demotes_a_live_active_and_fails_on_a_dead_one() {
    let rm1 = SimRmProcess::start("rm1", &[]);
    let mut rm2 = SimRmProcess::start("rm2", &[]);
    assert_eq!(rm1.rm_admin(&["transition-to-active"]).0, 0);
    let mut fencer = Fencer::new(endpoints(&[&rm1, &rm2]), vec![], "127.0.0.1:1");

    assert_eq!(fencer.fence("rm1", FenceStep::Graceful, 4), Ok(()));
    assert_eq!(rm1.ha_state().as_deref(), Some("standby"));

    rm2.kill();
    let err = fencer.fence("rm2", FenceStep::Graceful, 4).unwrap_err();
    assert!(err.contains("not running"), "{err}");
    let err = fencer.fence("rm1", FenceStep::Method(0), 4).unwrap_err();
    assert!(err.contains("methods[0] is not configured"), "{err}");
}

fn shell(command: String, timeout: Duration) -> FenceMethodCfg {
    FenceMethodCfg::Shell { command, timeout }
}

fn target_rm() -> BTreeMap<String, RmEndpointCfg> {
    BTreeMap::from([(
        "rm2".to_string(),
        RmEndpointCfg {
            admin_address: "rm2.example.com:8033".into(),
            web_address: "http://rm2.example.com:8088".into(),
        },
    )])
}

#[test]
fn the_shell_method_sees_the_target_and_is_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let env_file = dir.path().join("env");
    let pid_file = dir.path().join("pid");
    let methods = vec![
        shell(
            format!("env | grep -E '^(RMFC_|target_)' | sort > '{}'; echo fenced", env_file.display()),
            Duration::from_secs(10),
        ),
        shell("echo some progress; echo 'cannot reach the PDU' >&2; exit 3".into(), Duration::from_secs(10)),
        shell(format!("sleep 30 & echo $! > '{}'; wait", pid_file.display()), Duration::from_millis(800)),
        shell("read line; test -z \"$line\"".into(), Duration::from_secs(5)),
    ];
    let mut fencer = Fencer::new(target_rm(), methods, "127.0.0.1:1");

    assert_eq!(fencer.fence("rm2", FenceStep::Method(0), 7), Ok(()));
    let env = std::fs::read_to_string(&env_file).expect("the command wrote its environment");
    for want in [
        "RMFC_CLUSTER_ID=test-cluster",
        "RMFC_EPOCH=7",
        "RMFC_TARGET_RM_ID=rm2",
        "RMFC_TARGET_ADMIN_ADDRESS=rm2.example.com:8033",
        "RMFC_TARGET_WEB_ADDRESS=http://rm2.example.com:8088",
        "RMFC_TARGET_HOST=rm2.example.com",
        "RMFC_TARGET_PORT=8033",
        "target_host=rm2.example.com",
        "target_port=8033",
        "target_address=rm2.example.com:8033",
    ] {
        assert!(env.lines().any(|l| l == want), "{want} missing from:\n{env}");
    }

    assert_eq!(fencer.fence("rm2", FenceStep::Method(1), 7), Err("exit 3: cannot reach the PDU".to_string()));

    let started = Instant::now();
    let err = fencer.fence("rm2", FenceStep::Method(2), 7).unwrap_err();
    assert!(err.starts_with("timed out after 800ms"), "{err}");
    assert!(started.elapsed() < Duration::from_millis(800) + SLACK + Duration::from_secs(1), "{:?}", started.elapsed());
    let pid = std::fs::read_to_string(&pid_file).expect("pid of the background child");
    let pid = pid.trim();
    wait_for("the whole process group to be killed", Duration::from_secs(5), || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for init to reap it.
        (stat.is_empty() || stat.split_whitespace().nth(2) == Some("Z")).then_some(())
    });

    assert_eq!(fencer.fence("rm2", FenceStep::Method(3), 7), Ok(()), "stdin is empty (null), never inherited");
}

#[test]
fn the_http_method_posts_the_target_and_wants_a_2xx() {
    let (ok_addr, ok_requests) = http_server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    let (bad_addr, _) = http_server(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 17\r\nConnection: close\r\n\r\nPDU is rebooting\n",
    );
    let (silent_addr, _) = http_server("");
    let methods = vec![
        FenceMethodCfg::Http { url: format!("http://{ok_addr}/fence"), timeout: Duration::from_secs(5) },
        FenceMethodCfg::Http { url: format!("http://{bad_addr}/fence"), timeout: Duration::from_secs(5) },
        FenceMethodCfg::Http { url: format!("http://{silent_addr}/fence"), timeout: Duration::from_millis(500) },
    ];
    let mut fencer = Fencer::new(target_rm(), methods, "127.0.0.1:1");

    assert_eq!(fencer.fence("rm2", FenceStep::Method(0), 9), Ok(()));
    let request = ok_requests.recv_timeout(Duration::from_secs(5)).expect("the endpoint was called");
    assert!(request.starts_with("POST /fence HTTP/1.1\r\n"), "{request}");
    let body: serde_json::Value =
        serde_json::from_str(request.split("\r\n\r\n").nth(1).expect("a body")).expect("a JSON body");
    assert_eq!(
        body,
        serde_json::json!({"cluster_id": "test-cluster", "target": "rm2", "admin_address": "rm2.example.com:8033", "epoch": 9})
    );

    let err = fencer.fence("rm2", FenceStep::Method(1), 9).unwrap_err();
    assert!(err.contains("503") && err.contains("PDU is rebooting"), "{err}");

    let started = Instant::now();
    let err = fencer.fence("rm2", FenceStep::Method(2), 9).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500) + SLACK, "{:?}", started.elapsed());
    assert!(err.contains(&silent_addr), "{err}");
}

#[test]
fn zk_state_store_fencing_is_verified_only_when_the_store_changed_hands() {
    let zk = ZkServer::start();
    let connect = zk.connect_string();
    let rm1 = SimRmProcess::start("rm1", &["--zk", &connect]);
    let rm2 = SimRmProcess::start("rm2", &["--zk", &connect]);
    let store =
        FenceMethodCfg::ZkStateStore { path: DEFAULT_STORE_ROOT.into(), verify_timeout: Duration::from_secs(1) };
    let mut fencer = Fencer::new(endpoints(&[&rm1, &rm2]), vec![store.clone()], &connect);

    let err = fencer.verify(1).unwrap_err();
    assert!(err.contains("no store ACL was recorded"), "nothing recorded, nothing verified: {err}");

    // No store root yet: nothing to protect, an empty record; rm1's activation creates and takes it.
    assert_eq!(fencer.fence("rm2", FenceStep::Method(0), 0), Ok(()));
    assert_eq!(rm1.rm_admin(&["transition-to-active"]).0, 0);
    assert_eq!(fencer.verify(1), Ok(()));

    // rm1 holds the store; nothing changes: not verified, after the verify timeout.
    assert_eq!(fencer.fence("rm1", FenceStep::Method(0), 1), Ok(()));
    let started = Instant::now();
    let err = fencer.verify(2).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(900), "it waited for a change: {:?}", started.elapsed());
    assert!(err.starts_with("store root ACL did not change hands"), "{err}");
    assert!(err.contains("still held by [digest:rmfc-sim-rm1:"), "{err}");

    // rm2 activates and takes the store: verified.
    assert_eq!(fencer.fence("rm1", FenceStep::Method(0), 1), Ok(()));
    assert_eq!(rm2.rm_admin(&["transition-to-active"]).0, 0);
    assert_eq!(fencer.verify(2), Ok(()));
    let err = fencer.verify(2).unwrap_err();
    assert!(err.contains("no store ACL was recorded"), "a record is used once: {err}");

    // Without a zk_state_store method there is nothing to verify.
    let mut no_store = Fencer::new(endpoints(&[&rm1, &rm2]), vec![], &connect);
    let err = no_store.verify(2).unwrap_err();
    assert!(err.contains("no zk_state_store fencing method"), "{err}");

    // ZooKeeper unreachable: the step fails, quickly.
    let mut unreachable = Fencer::new(endpoints(&[&rm1, &rm2]), vec![store], "127.0.0.1:1");
    let started = Instant::now();
    let err = unreachable.fence("rm2", FenceStep::Method(0), 2).unwrap_err();
    assert!(err.contains("cannot read the ACL of store root /rmstore/ZKRMStateRoot"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3) + SLACK, "{:?}", started.elapsed());
}
