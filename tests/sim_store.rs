//! The simulated RM's ZooKeeper state store is fenced the way ZKRMStateStore fences, against a
//! real ZooKeeper server: the RM that activates takes the store root's ACL, a deposed active's
//! next write is refused and it drops to STANDBY by itself, and the journals prove that no two
//! RMs ever wrote in overlapping intervals.

mod support;

use std::time::Duration;

use rmfc::sim::checker::{overlapping_writes, write_intervals};
use rmfc::sim::events::{SimEvent, SimEventKind};
use support::sim::SimRmProcess;
use support::wait::wait_until;
use support::zk::ZkServer;
use zookeeper_client as zk;

const DEADLINE: Duration = Duration::from_secs(30);
const ROOT: &str = "/rmstore/ZKRMStateRoot";

fn start_rm(id: &str, zk: &ZkServer) -> SimRmProcess {
    SimRmProcess::start(id, &["--zk", &zk.connect_string(), "--zk-session-timeout", "4s"])
}

fn writes(rm: &SimRmProcess) -> Vec<i64> {
    rm.events()
        .into_iter()
        .filter_map(|e| match e.kind {
            SimEventKind::Write { zxid, .. } => Some(zxid),
            _ => None,
        })
        .collect()
}

fn demoted_itself(rm: &SimRmProcess, why: &str) -> bool {
    rm.events()
        .iter()
        .any(|e| matches!(&e.kind, SimEventKind::State { to, reason, .. } if to == "standby" && reason.contains(why)))
}

/// Owners of CREATE on the store root, by digest user name.
fn root_creators(connect: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = zk::Client::connect(connect).await.expect("connect to ZooKeeper");
        let (acl, _) = client.get_acl(ROOT).await.expect("read store root ACL");
        acl.iter()
            .filter(|a| a.permission().has(zk::Permission::CREATE))
            .map(|a| format!("{}:{}", a.scheme(), a.id().split(':').next().unwrap_or("")))
            .collect()
    })
}

fn all_events(rms: &[&SimRmProcess]) -> Vec<SimEvent> {
    rms.iter().flat_map(|r| r.events()).collect()
}

#[test]
fn activation_takes_the_store_and_the_deposed_active_demotes_itself_on_its_next_write() {
    let zk = ZkServer::start();
    let rm1 = start_rm("rm1", &zk);
    let rm2 = start_rm("rm2", &zk);

    assert_eq!(rm1.rm_admin(&["transition-to-active"]).0, 0);
    wait_until("rm1 to write heartbeats", DEADLINE, || writes(&rm1).len() >= 3);
    assert_eq!(root_creators(&zk.connect_string()), vec!["digest:rmfc-sim-rm1".to_string()]);

    // Nobody tells rm1 to step down: rm2's activation takes the store, rm1 finds out by itself.
    assert_eq!(rm2.rm_admin(&["transition-to-active"]).0, 0);
    assert_eq!(root_creators(&zk.connect_string()), vec!["digest:rmfc-sim-rm2".to_string()]);
    wait_until("rm1 to be fenced and drop to standby", DEADLINE, || demoted_itself(&rm1, "fenced"));
    wait_until("rm2 to write heartbeats", DEADLINE, || writes(&rm2).len() >= 3);
    assert_eq!(rm1.ha_state().as_deref(), Some("standby"));
    assert_eq!(rm2.ha_state().as_deref(), Some("active"));

    let events = all_events(&[&rm1, &rm2]);
    assert!(overlapping_writes(&events).is_empty(), "{:?}", write_intervals(&events));
    assert!(writes(&rm1).iter().max() < writes(&rm2).iter().min(), "rm1 never wrote after rm2 took over");
}

#[test]
fn a_stopped_active_comes_back_standby_without_writing_into_the_new_term() {
    let zk = ZkServer::start();
    let rm1 = start_rm("rm1", &zk);
    let rm2 = start_rm("rm2", &zk);
    assert_eq!(rm1.rm_admin(&["transition-to-active"]).0, 0);
    wait_until("rm1 to write heartbeats", DEADLINE, || writes(&rm1).len() >= 2);

    rm1.stop();
    assert_eq!(rm2.rm_admin(&["transition-to-active"]).0, 0);
    wait_until("rm2 to write heartbeats", DEADLINE, || writes(&rm2).len() >= 3);
    rm1.cont();
    wait_until("rm1 to demote itself after SIGCONT", DEADLINE, || demoted_itself(&rm1, "fenced"));
    assert_eq!(rm1.ha_state().as_deref(), Some("standby"));

    let events = all_events(&[&rm1, &rm2]);
    assert!(overlapping_writes(&events).is_empty(), "{:?}", write_intervals(&events));
}

#[test]
fn a_standby_redirects_to_the_active_found_in_the_store() {
    let zk = ZkServer::start();
    let rm1 = start_rm("rm1", &zk);
    let rm2 = start_rm("rm2", &zk);
    assert_eq!(rm1.rm_admin(&["transition-to-active"]).0, 0);
    wait_until("rm1 to write heartbeats", DEADLINE, || !writes(&rm1).is_empty());
    let r = rm2.get("/ws/v1/cluster/apps?states=RUNNING");
    assert_eq!(r.status, 307);
    assert_eq!(r.header("location"), Some(format!("http://{}/ws/v1/cluster/apps?states=RUNNING", rm1.web).as_str()));
}

#[test]
fn an_active_that_loses_its_store_drops_to_standby() {
    let mut zk = ZkServer::start();
    let rm1 = start_rm("rm1", &zk);
    assert_eq!(rm1.rm_admin(&["transition-to-active"]).0, 0);
    wait_until("rm1 to write heartbeats", DEADLINE, || !writes(&rm1).is_empty());
    zk.kill();
    wait_until("rm1 to give up being active", DEADLINE, || demoted_itself(&rm1, "state store"));
    assert_eq!(rm1.ha_state().as_deref(), Some("standby"));
}

#[test]
fn activation_fails_cleanly_when_the_store_is_unreachable() {
    let mut zk = ZkServer::start();
    let rm1 = start_rm("rm1", &zk);
    zk.kill();
    let (code, _, err) = rm1.rm_admin(&["transition-to-active"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Error when transitioning to Active mode"), "{err}");
    assert_eq!(rm1.ha_state().as_deref(), Some("standby"));
}
