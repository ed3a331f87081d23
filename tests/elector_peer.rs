//! Regression test for the benchmark's baseline peer: `tests/java/EmbeddedElectorRm.java`
//! (Hadoop's own `ActiveStandbyElector`, run the way YARN's embedded elector runs it) still
//! starts and elects with the ZooKeeper client that `.ci/fetch-hadoop-jars` relocated.
//!
//! What it owns: that two stand-ins against a real ZooKeeper elect exactly one active, use
//! YARN's znode layout, and that the standby takes over when the active is killed. What it
//! must not do: measure anything (that is `benches/elector_compare/`) or sleep to assert;
//! every wait has a deadline. A missing JDK, ZooKeeper or jar fails with the install hint.

mod support;

use std::time::Duration;

use support::hadoop::ElectorRm;
use support::zk::ZkServer;

/// Joining is immediate; an election after a kill waits for the dead RM's ZooKeeper session
/// (10 s, YARN's default) to expire, plus JVM scheduling slack on a busy machine.
const ELECT: Duration = Duration::from_secs(60);

#[test]
fn one_stand_in_is_active_and_the_other_takes_over_when_it_dies() {
    let zk = ZkServer::builder().tick_time(500).start();
    let rm1 = ElectorRm::start("rm1", &zk.connect_string(), "peer-test");
    let rm2 = ElectorRm::start("rm2", &zk.connect_string(), "peer-test");
    let mut rms = [rm1, rm2];

    let first = support::wait::wait_for("one active stand-in", ELECT, || {
        let active: Vec<usize> = (0..2).filter(|i| rms[*i].state().as_deref() == Some("active")).collect();
        match active.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    });
    let other = 1 - first;
    assert_eq!(rms[other].state().as_deref(), Some("standby"), "the other stand-in is standby");
    // The elector ran with YARN's settings, not the library's.
    let started = rms[first].events().into_iter().find(|e| e.event.as_deref() == Some("started")).expect("started");
    assert!(started.pid.is_some(), "the stand-in reported its pid");
    assert_eq!(
        (started.zk_session_timeout_ms, started.zk_retries, started.znode.as_deref()),
        (Some(10_000), Some(3), Some("/yarn-leader-election/peer-test")),
        "YARN's defaults: yarn.resourcemanager.zk-timeout-ms 10000, 3 ZooKeeper retries"
    );
    let text = support::zk::four_letter(zk.client_addr(), "dump", Duration::from_secs(5)).unwrap_or_default();
    assert!(
        text.contains("/yarn-leader-election/peer-test/ActiveStandbyElectorLock"),
        "the lock is an ephemeral znode where YARN keeps it; `dump` said:\n{text}"
    );

    rms[first].kill();
    rms[other].wait_state("active", ELECT);
}
