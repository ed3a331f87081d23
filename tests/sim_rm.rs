//! `rmfc sim-rm` behaves like a ResourceManager's HA surface, driven by `rmfc rm-admin` over real
//! sockets: DESIGN.md "The RM side", point by point, plus malformed input on its admin port.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::sim::SimRmProcess;
use support::wait::wait_until;

const DEADLINE: Duration = Duration::from_secs(20);

#[test]
fn starts_standby_never_promotes_itself_and_follows_rm_admin() {
    let rm = SimRmProcess::start("rm1", &[]);
    assert_eq!(rm.ha_state().as_deref(), Some("standby"));
    assert_eq!(rm.get("/isActive").status, 405);

    let (code, _, err) = rm.rm_admin(&["transition-to-active"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rm.ha_state().as_deref(), Some("active"));
    let is_active = rm.get("/isActive");
    assert_eq!((is_active.status, is_active.body.as_str()), (200, "I am Active!"));
    assert_eq!(is_active.header("connection"), Some("close"));
    let info: serde_json::Value = serde_json::from_str(&rm.get("/ws/v1/cluster/info").body).expect("json");
    assert_eq!(info["clusterInfo"]["haState"], "ACTIVE");
    assert_eq!(info["clusterInfo"]["state"], "STARTED");
    assert_eq!(info["clusterInfo"]["id"], info["clusterInfo"]["startedOn"]);

    // Already active: returns at once, even for a source the mode would refuse (AdminService).
    assert_eq!(rm.rm_admin(&["transition-to-active", "--source", "zkfc"]).0, 0);
    assert_eq!(rm.rm_admin(&["transition-to-standby"]).0, 0);
    assert_eq!(rm.ha_state().as_deref(), Some("standby"));
    let info: serde_json::Value = serde_json::from_str(&rm.get("/ws/v1/cluster/info").body).expect("json");
    assert_eq!(info["clusterInfo"]["haState"], "STANDBY");
}

#[test]
fn manual_mode_refuses_zkfc_requests_and_names_the_setting_to_change() {
    let rm = SimRmProcess::start("rm1", &[]);
    let (code, _, err) = rm.rm_admin(&["transition-to-active", "--source", "zkfc"]);
    assert_eq!(code, 1);
    assert!(err.contains("denied since automatic failover is not enabled"), "{err}");
    assert!(err.contains("automatic-failover.enabled=false"), "{err}");
    assert!(err.contains("request_source"), "{err}");
    assert_eq!(rm.ha_state().as_deref(), Some("standby"));
    assert_eq!(rm.rm_admin(&["transition-to-active", "--source", "forced"]).0, 0);
}

#[test]
fn automatic_failover_mode_refuses_user_requests_and_accepts_zkfc_and_forced() {
    let rm = SimRmProcess::start("rm1", &["--automatic-failover"]);
    let (code, _, err) = rm.rm_admin(&["transition-to-active", "--source", "user"]);
    assert_eq!(code, 1);
    assert!(err.contains("Manual failover for this ResourceManager is disallowed"), "{err}");
    assert!(err.contains("zkfc"), "the hint names the request source to use: {err}");
    assert_eq!(rm.rm_admin(&["transition-to-active", "--source", "zkfc"]).0, 0);
    assert_eq!(rm.rm_admin(&["transition-to-standby", "--source", "forced"]).0, 0);
    assert_eq!(rm.ha_state().as_deref(), Some("standby"));
}

#[test]
fn health_fails_only_while_active_services_are_down() {
    let rm = SimRmProcess::start("rm1", &[]);
    assert_eq!(rm.set_faults(r#"{"unhealthy": true}"#).status, 200);
    let (code, out, _) = rm.rm_admin(&["check-health"]);
    assert_eq!((code, out.as_str()), (0, "healthy"), "a standby is always healthy");
    assert_eq!(rm.rm_admin(&["transition-to-active"]).0, 0);
    let (code, _, err) = rm.rm_admin(&["check-health"]);
    assert_eq!(code, 1);
    assert!(err.contains("Active ResourceManager services are not running!"), "{err}");
    assert_eq!(rm.set_faults(r#"{"unhealthy": false}"#).status, 200);
    assert_eq!(rm.rm_admin(&["check-health"]).0, 0);
}

#[test]
fn one_admin_handler_a_slow_activation_blocks_health_probes() {
    let rm = SimRmProcess::start("rm1", &["--activation-delay", "3s"]);
    let admin = rm.admin.clone();
    let activation = std::thread::spawn(move || {
        support::procs::rmfc(&["rm-admin", "--address", &admin, "transition-to-active"]).status().expect("run").code()
    });
    // Wait until the activation holds the handler: a probe then times out instead of answering.
    wait_until("a health probe to queue behind the activation", DEADLINE, || {
        let (code, _, err) = rm.rm_admin(&["check-health", "--timeout", "500ms"]);
        code == 3 && err.contains("did not answer")
    });
    assert_eq!(activation.join().expect("thread"), Some(0));
    assert_eq!(rm.ha_state().as_deref(), Some("active"));
}

#[test]
fn slow_rm_times_out_stopped_rm_times_out_dead_rm_is_refused() {
    let mut rm = SimRmProcess::start("rm1", &[]);
    assert_eq!(rm.set_faults(r#"{"rpc_delay": "5s"}"#).status, 200);
    let started = Instant::now();
    let (code, _, err) = rm.rm_admin(&["get-service-state", "--timeout", "300ms"]);
    assert_eq!(code, 3);
    assert!(err.contains("did not answer within 300ms"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4), "the deadline bounds the call");
    assert_eq!(rm.set_faults(r#"{"rpc_delay": "0s"}"#).status, 200);

    rm.stop();
    let (code, _, err) = rm.rm_admin(&["get-service-state", "--timeout", "300ms"]);
    assert_eq!(code, 3, "a SIGSTOPped RM is slow, not dead: {err}");
    assert!(err.contains("did not answer"), "{err}");
    rm.cont();
    wait_until("the RM to answer after SIGCONT", DEADLINE, || rm.ha_state().is_some());

    rm.kill();
    let (code, _, err) = rm.rm_admin(&["get-service-state"]);
    assert_eq!(code, 3);
    assert!(err.contains("connection refused"), "a dead RM is recognised as gone: {err}");
}

#[test]
fn a_standby_redirects_other_paths_but_serves_exempt_ones() {
    let rm = SimRmProcess::start("rm1", &[]);
    let r = rm.get("/ws/v1/cluster/apps");
    assert_eq!(r.status, 307, "standby redirects");
    assert!(r.body.contains("Can not find any active RM"), "{}", r.body);
    assert_eq!(rm.get("/ws/v1/cluster/info").status, 200);
    assert_eq!(rm.get("/cluster").status, 200);
    assert_eq!(rm.get("/isActive").status, 405);
    assert_eq!(rm.rm_admin(&["transition-to-active"]).0, 0);
    assert_eq!(rm.get("/ws/v1/cluster").status, 200, "the active serves what a standby redirects");
}

#[test]
fn the_control_endpoint_refuses_bad_bodies() {
    let rm = SimRmProcess::start("rm1", &[]);
    assert_eq!(rm.set_faults("{not json").status, 400);
    assert_eq!(rm.set_faults(r#"{"unhealty": true}"#).status, 400, "unknown fields are refused");
    assert_eq!(rm.set_faults(r#"{"rpc_delay": "soon"}"#).status, 400);
}

fn raw_exchange(addr: &str, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    // The server may close before reading everything we send; that is an acceptable answer.
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn malformed_input_on_the_admin_port_is_refused_and_the_rm_keeps_serving() {
    let rm = SimRmProcess::start("rm1", &[]);
    let http = raw_exchange(&rm.admin, b"GET / HTTP/1.1\r\n\r\n");
    assert!(http.starts_with(b"HTTP/1.1 404"), "HTTP on the IPC port gets Hadoop's 404");
    let version = raw_exchange(&rm.admin, b"hrpc\x05\x00\x00");
    assert!(String::from_utf8_lossy(&version).contains("cannot communicate with client version 5"));
    assert!(raw_exchange(&rm.admin, b"garbage-garbage").is_empty(), "bad magic: closed without answer");
    // Oversized frame: refused before allocating, connection closed.
    assert!(raw_exchange(&rm.admin, b"hrpc\x09\x00\x00\x7f\xff\xff\xff").is_empty());
    // Garbage protobuf in a well-sized frame: a FATAL answer, then close.
    let fatal = raw_exchange(&rm.admin, b"hrpc\x09\x00\x00\x00\x00\x00\x04\xff\xff\xff\xff");
    assert!(String::from_utf8_lossy(&fatal).contains("FatalRpcServerException"));
    // Truncated frame, then the client goes away.
    assert!(raw_exchange(&rm.admin, b"hrpc\x09\x00\x00\x00\x00\x01\x00\x01\x02").is_empty());
    // Random bytes of all sizes.
    let mut seed = 0x9e3779b97f4a7c15u64;
    for len in [1usize, 7, 8, 11, 64, 300] {
        let mut buf = b"hrpc\x09\x00\x00".to_vec();
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            buf.push(seed as u8);
        }
        let _ = raw_exchange(&rm.admin, &buf);
    }
    assert_eq!(rm.ha_state().as_deref(), Some("standby"), "the RM still serves well-formed calls");
}

#[test]
fn the_client_reconnects_after_the_rm_restarts_on_the_same_port() {
    use rmfc::hadoop_ipc::{HaClient, HaError, HaState, RequestSource};
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let addr = format!("127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut client = HaClient::new(addr.clone(), None, RequestSource::User);
    let t = Duration::from_secs(2);

    let mut rm = SimRmProcess::start_at("rm1", &addr, &[]);
    rt.block_on(async {
        client.get_service_status(t).await.expect("first call");
        rm.kill();
        match client.get_service_status(t).await {
            Err(HaError::Unreachable { .. } | HaError::ProcessGone { .. }) => {}
            other => panic!("a killed RM must look unreachable or gone, got {other:?}"),
        }
        match client.get_service_status(t).await {
            Err(HaError::ProcessGone { .. }) => {}
            other => panic!("with nothing listening the reconnect is refused, got {other:?}"),
        }
    });
    let _rm = SimRmProcess::start_at("rm1", &addr, &[]);
    rt.block_on(async {
        let s = client.get_service_status(t).await.expect("the same client reconnects");
        assert_eq!(s.state, HaState::Standby);
    });
}
