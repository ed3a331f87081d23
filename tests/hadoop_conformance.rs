//! Conformance with Hadoop's own implementation, both directions:
//! - rmfc's client (library and `rmfc rm-admin`) against a server built only from Hadoop's
//!   classes (`RPC.Builder` + `HAServiceProtocolServerSideTranslatorPB`): every method, every
//!   error class;
//! - Hadoop's client (`HAServiceProtocolClientSideTranslatorPB`) and YARN's `RMAdminCLI` against
//!   `rmfc sim-rm`.

mod support;

use std::time::{Duration, Instant};

use rmfc::hadoop_ipc::{HaClient, HaError, HaState, RequestSource};
use support::hadoop::{java_ha_client, rm_admin_cli, JavaHaServer};
use support::procs::rmfc;
use support::sim::SimRmProcess;

const T: Duration = Duration::from_secs(15);

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

// ---- rmfc's client against Hadoop's server ------------------------------------------------

#[test]
fn rmfc_client_drives_every_method_of_a_hadoop_server() {
    let java = JavaHaServer::start(&["manual", "auto"]);
    rt().block_on(async {
        let mut c = HaClient::new(java.addr("manual"), Some("yarn".into()), RequestSource::User);
        let s = c.get_service_status(T).await.expect("status");
        assert_eq!((s.state, s.ready_to_become_active, s.not_ready_reason), (HaState::Standby, true, None));
        c.monitor_health(T).await.expect("health");
        c.transition_to_active(T).await.expect("to active");
        assert_eq!(c.get_service_status(T).await.expect("status").state, HaState::Active);
        c.transition_to_standby(T).await.expect("to standby");
        assert_eq!(c.get_service_status(T).await.expect("status").state, HaState::Standby);

        let mut zkfc = HaClient::new(java.addr("auto"), None, RequestSource::Zkfc);
        zkfc.transition_to_active(T).await.expect("auto mode accepts REQUEST_BY_ZKFC");
        let mut forced = HaClient::new(java.addr("auto"), None, RequestSource::Forced);
        forced.transition_to_standby(T).await.expect("auto mode accepts REQUEST_BY_USER_FORCED");
    });
    assert_eq!(
        java.wait_calls("manual", 6),
        [
            "CALL manual getServiceStatus -",
            "CALL manual monitorHealth -",
            "CALL manual transitionToActive REQUEST_BY_USER",
            "CALL manual getServiceStatus -",
            "CALL manual transitionToStandby REQUEST_BY_USER",
            "CALL manual getServiceStatus -",
        ]
    );
    assert_eq!(
        java.wait_calls("auto", 2),
        ["CALL auto transitionToActive REQUEST_BY_ZKFC", "CALL auto transitionToStandby REQUEST_BY_USER_FORCED"]
    );
}

#[test]
fn rmfc_client_classifies_every_hadoop_error() {
    let java = JavaHaServer::start(&[
        "manual",
        "auto",
        "unhealthy",
        "transition-fails",
        "denied",
        "not-ready",
        "slow",
        "no-ha",
        "kerberos",
    ]);
    rt().block_on(async {
        let client = |b: &str, s| HaClient::new(java.addr(b), None, s);

        match client("manual", RequestSource::Zkfc).transition_to_active(T).await {
            Err(HaError::AccessDenied { message, hint: Some(hint), .. }) => {
                assert!(message.starts_with("Request from ZK failover controller at"), "{message}");
                assert!(hint.contains("automatic-failover.enabled=false") && hint.contains("`user`"), "{hint}");
            }
            other => panic!("expected AccessDenied, got {other:?}"),
        }
        match client("auto", RequestSource::User).transition_to_active(T).await {
            Err(HaError::AccessDenied { message, hint: Some(hint), .. }) => {
                assert_eq!(
                    message,
                    "Manual failover for this ResourceManager is disallowed, because automatic failover is enabled."
                );
                assert!(hint.contains("`zkfc`"), "{hint}");
            }
            other => panic!("expected AccessDenied, got {other:?}"),
        }
        match client("unhealthy", RequestSource::User).monitor_health(T).await {
            Err(HaError::HealthCheckFailed { message, .. }) => {
                assert_eq!(message, "Active ResourceManager services are not running!")
            }
            other => panic!("expected HealthCheckFailed, got {other:?}"),
        }
        match client("transition-fails", RequestSource::User).transition_to_active(T).await {
            Err(HaError::ServiceFailed { message, .. }) => {
                assert_eq!(message, "Error when transitioning to Active mode")
            }
            other => panic!("expected ServiceFailed, got {other:?}"),
        }
        match client("denied", RequestSource::User).get_service_status(T).await {
            Err(HaError::AccessDenied { message, hint: Some(hint), .. }) => {
                assert_eq!(message, "User nobody doesn't have permission to call 'getServiceState'");
                assert!(hint.contains("yarn.admin.acl"), "{hint}");
            }
            other => panic!("expected AccessDenied, got {other:?}"),
        }
        let s = client("not-ready", RequestSource::User).get_service_status(T).await.expect("status");
        assert_eq!(
            (s.state, s.ready_to_become_active, s.not_ready_reason.as_deref()),
            (HaState::Initializing, false, Some("State is initializing"))
        );

        let started = Instant::now();
        match client("slow", RequestSource::User).get_service_status(Duration::from_millis(500)).await {
            Err(HaError::Timeout { .. }) => assert!(started.elapsed() < Duration::from_secs(5)),
            other => panic!("expected Timeout, got {other:?}"),
        }
        match client("no-ha", RequestSource::User).get_service_status(T).await {
            Err(e @ HaError::HaNotEnabled { .. }) => {
                assert!(e.to_string().contains("yarn.resourcemanager.ha.enabled"), "{e}")
            }
            other => panic!("expected HaNotEnabled, got {other:?}"),
        }
        match client("kerberos", RequestSource::User).get_service_status(T).await {
            Err(HaError::KerberosRequired { message, .. }) => {
                assert!(message.contains("SIMPLE authentication is not enabled"), "{message}")
            }
            other => panic!("expected KerberosRequired, got {other:?}"),
        }
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
        match HaClient::new(closed.to_string(), None, RequestSource::User).get_service_status(T).await {
            Err(HaError::ProcessGone { .. }) => {}
            other => panic!("expected ProcessGone, got {other:?}"),
        }
    });
}

#[test]
fn rmfc_client_keeps_one_connection_for_many_calls_and_reconnects_after_a_timeout() {
    let java = JavaHaServer::start(&["manual", "slow"]);
    rt().block_on(async {
        let mut c = HaClient::new(java.addr("manual"), None, RequestSource::User);
        for _ in 0..50 {
            assert_eq!(c.get_service_status(T).await.expect("status").state, HaState::Standby);
        }
        let mut slow = HaClient::new(java.addr("slow"), None, RequestSource::User);
        assert!(matches!(slow.get_service_status(Duration::from_millis(300)).await, Err(HaError::Timeout { .. })));
        // The timed-out connection was dropped; the next call opens a new one (and queues behind
        // the single handler, so it times out too — but it does connect).
        assert!(matches!(
            slow.monitor_health(Duration::from_millis(300)).await,
            Err(HaError::Timeout { phase: rmfc::hadoop_ipc::error::CallPhase::Call, .. })
        ));
    });
}

#[test]
fn rmfc_rm_admin_drives_a_hadoop_server() {
    let java = JavaHaServer::start(&["manual", "unhealthy"]);
    let run = |addr: &str, args: &[&str]| {
        let out = rmfc(&["rm-admin", "--address", addr]).args(args).output().expect("run rmfc");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let manual = java.addr("manual");
    assert_eq!(run(&manual, &["get-service-state"]).1, "standby");
    assert_eq!(run(&manual, &["check-health"]).0, Some(0));
    assert_eq!(run(&manual, &["transition-to-active"]).0, Some(0));
    assert_eq!(run(&manual, &["get-service-state"]).1, "active");
    assert_eq!(run(&manual, &["transition-to-standby", "--source", "forced"]).0, Some(0));
    let (code, _, err) = run(&manual, &["transition-to-active", "--source", "zkfc"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("denied since automatic failover is not enabled"), "{err}");
    let (code, _, err) = run(&java.addr("unhealthy"), &["check-health"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("Active ResourceManager services are not running!"), "{err}");
    assert_eq!(
        java.wait_calls("manual", 6).last().map(String::as_str),
        Some("CALL manual transitionToActive REQUEST_BY_ZKFC"),
        "the source flag reaches the server"
    );
}

// ---- Hadoop's client against rmfc sim-rm ----------------------------------------------------

#[test]
fn hadoop_client_drives_sim_rm() {
    let manual = SimRmProcess::start("rm1", &[]);
    let lines = java_ha_client(
        &manual.admin,
        &["status", "health", "active:user", "status", "active:zkfc", "standby:user", "standby:zkfc", "status"],
    );
    assert_eq!(
        lines,
        [
            "OK status STANDBY ready=true",
            "OK health",
            "OK active",
            "OK status ACTIVE ready=true",
            "OK active", // already active: returns before the source check, as AdminService does
            "OK standby",
            "ERR standby:zkfc org.apache.hadoop.security.AccessControlException Request from ZK failover controller at 127.0.0.1 denied since automatic failover is not enabled",
            "OK status STANDBY ready=true",
        ]
    );

    let auto = SimRmProcess::start("rm2", &["--automatic-failover"]);
    assert_eq!(auto.set_faults(r#"{"unhealthy": true}"#).status, 200);
    let lines = java_ha_client(&auto.admin, &["active:user", "active:zkfc", "health", "standby:forced"]);
    assert_eq!(
        lines,
        [
            "ERR active:user org.apache.hadoop.security.AccessControlException Manual failover for this ResourceManager is disallowed, because automatic failover is enabled.",
            "OK active",
            "ERR health org.apache.hadoop.ha.HealthCheckFailedException Active ResourceManager services are not running!",
            "OK standby",
        ]
    );
}

#[test]
fn yarn_rmadmin_drives_sim_rm() {
    let rm1 = SimRmProcess::start("rm1", &[]);
    let rm2 = SimRmProcess::start("rm2", &[]);
    let cli = |conf: &[&str], args: &[&str]| rm_admin_cli(&rm1.admin, &rm2.admin, conf, args);

    let r = cli(&[], &["-getServiceState", "rm1"]);
    assert_eq!((r.code, r.stdout.trim()), (Some(0), "standby"), "{}", r.stderr);
    let r = cli(&[], &["-checkHealth", "rm1"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);

    // RMAdminCLI assumes automatic failover unless told otherwise: --forcemanual, answered Y.
    let r = cli(&[], &["-transitionToActive", "--forcemanual", "rm1"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(rm1.ha_state().as_deref(), Some("active"));
    let r = cli(&[], &["-getServiceState", "rm1"]);
    assert_eq!(r.stdout.trim(), "active");
    let r = cli(&[], &["-transitionToStandby", "--forcemanual", "rm1"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(rm1.ha_state().as_deref(), Some("standby"));

    // Mode A as yarn-site.xml would say it: plain REQUEST_BY_USER, no confirmation.
    let mode_a = ["-Dyarn.resourcemanager.ha.automatic-failover.enabled=false"];
    let r = cli(&mode_a, &["-transitionToActive", "rm2"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(rm2.ha_state().as_deref(), Some("active"));
    let r = cli(&mode_a, &["-transitionToActive", "rm1"]);
    assert_ne!(r.code, Some(0), "RMAdminCLI refuses a second active: {}", r.stdout);
    assert!(r.stderr.contains("already active"), "{}", r.stderr);
    let r = cli(&[], &["-getAllServiceState"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("active") && r.stdout.contains("standby"), "{}", r.stdout);

    let sources: Vec<Option<String>> = rm1
        .events()
        .into_iter()
        .chain(rm2.events())
        .filter_map(|e| match e.kind {
            rmfc::sim::events::SimEventKind::Call { source, result, .. } if result == "ok" => Some(source),
            _ => None,
        })
        .collect();
    assert!(sources.contains(&Some("REQUEST_BY_USER_FORCED".into())), "{sources:?}");
    assert!(sources.contains(&Some("REQUEST_BY_USER".into())), "{sources:?}");
}
