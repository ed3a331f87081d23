//! The ZooKeeper launcher in `tests/support/zk/` starts real servers and ensembles, injects
//! process faults into them and cleans up after itself. These tests pin that down, so every
//! other integration test can rely on it.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::wait::{wait_for, wait_until};
use support::zk::{four_letter, Mode, ZkEnsemble, ZkServer, PROBE_TIMEOUT};
use zookeeper_client::{Acls, Client, CreateMode};

const DEADLINE: Duration = Duration::from_secs(30);

/// Bounds every ZooKeeper call: calls made while disconnected wait for a reconnect.
async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, fut).await.unwrap_or_else(|_| panic!("{what} took longer than {DEADLINE:?}"))
}

async fn connect(connect_string: &str) -> Client {
    bounded("connect", Client::connect(connect_string)).await.expect("connect to ZooKeeper")
}

async fn create(client: &Client, path: &str, data: &[u8]) {
    let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
    bounded("create", client.create(path, data, &options)).await.expect("create znode");
}

async fn read(client: &Client, path: &str) -> Vec<u8> {
    bounded("get_data", client.get_data(path)).await.expect("get_data").0
}

fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn standalone_server_serves_clients_and_keeps_its_data_across_a_restart() {
    let started = Instant::now();
    let mut zk = ZkServer::start();
    eprintln!("standalone server serving after {:?}", started.elapsed());

    assert_eq!(zk.mode(), Some(Mode::Standalone));
    assert!(zk.connect_string().starts_with("127.0.0.1:"));

    let client = connect(&zk.connect_string()).await;
    create(&client, "/rmfc-test", b"hello").await;
    assert_eq!(read(&client, "/rmfc-test").await, b"hello");
    drop(client);

    zk.kill();
    assert_eq!(zk.pid(), None);
    assert_eq!(zk.mode(), None);
    let refused = bounded(
        "connect to a killed server",
        Client::connector()
            .with_session_timeout(Duration::from_secs(2))
            .with_fail_eagerly()
            .connect(&zk.connect_string()),
    )
    .await;
    assert!(refused.is_err(), "a killed server must refuse connections");

    let restarted = Instant::now();
    zk.restart();
    eprintln!("standalone server serving again {:?} after restart", restarted.elapsed());
    assert_eq!(zk.mode(), Some(Mode::Standalone));
    let client = connect(&zk.connect_string()).await;
    assert_eq!(read(&client, "/rmfc-test").await, b"hello", "data survives a kill and restart");
}

#[test]
fn a_stopped_server_answers_nothing_until_it_is_continued() {
    let zk = ZkServer::start();

    zk.stop();
    assert_eq!(zk.mode_within(Duration::from_millis(500)), None, "a SIGSTOPped server must not answer srvr");
    assert!(zk.pid().is_some(), "stopping is not killing");

    zk.cont();
    assert_eq!(zk.wait_serving(DEADLINE), Mode::Standalone);
}

#[test]
fn dropping_a_server_kills_it_even_when_stopped_and_removes_its_files() {
    let zk = ZkServer::start();
    let pid = zk.pid().expect("running");
    let dir = zk.log_path().parent().expect("log in temp dir").to_owned();
    zk.stop();

    drop(zk);

    assert!(!process_exists(pid), "process {pid} must be gone after drop");
    assert!(!dir.exists(), "{} must be removed after drop", dir.display());
}

#[test]
fn a_panicking_test_still_kills_its_server() {
    let (tx, rx) = std::sync::mpsc::channel();
    let outcome = std::thread::spawn(move || {
        let zk = ZkServer::start();
        tx.send(zk.pid().expect("running")).unwrap();
        panic!("test failure while the server runs (expected by this test)");
    })
    .join();

    assert!(outcome.is_err());
    let pid = rx.recv().expect("server started before the panic");
    assert!(!process_exists(pid), "process {pid} must be gone after a panic");
}

#[tokio::test]
async fn session_timeouts_are_clamped_by_the_server_unless_the_builder_raises_the_limit() {
    let asked = Duration::from_secs(30);

    let default = ZkServer::start();
    let client = bounded("connect", Client::connector().with_session_timeout(asked).connect(&default.connect_string()))
        .await
        .expect("connect");
    assert_eq!(client.session_timeout(), Duration::from_secs(10), "20 ticks of 500 ms");
    drop(client);

    let roomy = ZkServer::builder().tick_time(200).max_session_timeout(60_000).start();
    let client = bounded("connect", Client::connector().with_session_timeout(asked).connect(&roomy.connect_string()))
        .await
        .expect("connect");
    assert_eq!(client.session_timeout(), asked);
    drop(client);

    let short = Duration::from_millis(100);
    let client = bounded("connect", Client::connector().with_session_timeout(short).connect(&roomy.connect_string()))
        .await
        .expect("connect");
    assert_eq!(client.session_timeout(), Duration::from_millis(400), "at least 2 ticks of 200 ms");
}

#[tokio::test]
async fn an_ensemble_elects_one_leader_and_replaces_it_when_it_dies() {
    let started = Instant::now();
    let mut zk = ZkEnsemble::start(3);
    eprintln!("3-node ensemble serving after {:?}", started.elapsed());

    assert_eq!(zk.len(), 3);
    let addrs: Vec<String> = (0..3).map(|i| zk.client_addr(i).to_string()).collect();
    assert_eq!(zk.connect_string(), addrs.join(","));
    let modes = zk.modes();
    assert_eq!(modes.iter().filter(|m| **m == Some(Mode::Leader)).count(), 1, "{modes:?}");
    assert_eq!(modes.iter().filter(|m| **m == Some(Mode::Follower)).count(), 2, "{modes:?}");
    let old = zk.leader().expect("one leader");

    let client = connect(&zk.connect_string()).await;
    create(&client, "/rmfc-ensemble", b"v1").await;
    drop(client);

    zk.kill(old);
    let killed = Instant::now();
    let new = wait_for("a new leader", DEADLINE, || zk.leader().filter(|&l| l != old));
    eprintln!("new leader (node {new}) {:?} after the old leader (node {old}) was killed", killed.elapsed());
    assert_eq!(zk.mode(old), None);

    let client = connect(&zk.connect_string()).await;
    assert_eq!(read(&client, "/rmfc-ensemble").await, b"v1", "committed data survives a leader change");
}

#[test]
fn an_ensemble_loses_quorum_with_two_of_three_nodes_down_and_regains_it_with_one_back() {
    let mut zk = ZkEnsemble::start(3);
    let survivor = zk.leader().expect("one leader");
    let (a, b) = match survivor {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };

    zk.kill(a);
    zk.kill(b);
    zk.wait_not_serving(survivor, DEADLINE);
    let srvr =
        four_letter(zk.client_addr(survivor), "srvr", PROBE_TIMEOUT).expect("a node without quorum still answers");
    assert!(srvr.contains("not currently serving requests"), "{srvr}");

    zk.restart(a);
    let mode_a = zk.wait_serving(a, DEADLINE);
    let mode_survivor = zk.wait_serving(survivor, DEADLINE);
    let mut modes = [mode_a, mode_survivor];
    modes.sort_by_key(|m| *m == Mode::Follower);
    assert_eq!(modes, [Mode::Leader, Mode::Follower]);
    assert_eq!(zk.mode(b), None);
}

#[test]
fn a_stopped_ensemble_node_answers_nothing_until_it_is_continued() {
    let zk = ZkEnsemble::start(3);
    let follower = (0..3).find(|&i| zk.mode(i) == Some(Mode::Follower)).expect("a follower");

    zk.stop(follower);
    assert_eq!(zk.mode_within(follower, Duration::from_millis(500)), None);

    zk.cont(follower);
    wait_until("the follower serves again", DEADLINE, || zk.mode(follower).is_some());
}
