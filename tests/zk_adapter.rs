//! The ZooKeeper adapter (`rmfc::zk`) against a real ZooKeeper: each test drives adapters
//! through `execute` exactly as the daemon does and asserts on the events they report, with
//! deadlines. A raw `zookeeper-client` session looks at (or tampers with) the znodes from the
//! outside. Faults (SIGSTOP, SIGKILL + restart, losing an ensemble node) come from the launcher
//! in `tests/support/zk.rs`.

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use rmfc::core::io::WriteFailure;
use rmfc::core::types::{
    Breadcrumb, Candidate, ClusterState, HistoryEntry, OpId, PeerHealth, SessionGen, StateSnapshot, Trigger,
};
use rmfc::core::{Action, Event};
use rmfc::zk::{ZkAdapter, ZkAdapterConfig};
use support::wait::wait_for;
use support::zk::{ZkEnsemble, ZkServer};
use tokio::sync::mpsc;
use zookeeper_client as zk;

const DEADLINE: Duration = Duration::from_secs(20);
const ROOT: &str = "/rmfc-test";
const CLUSTER: &str = "c1";

fn path(rest: &str) -> String {
    format!("{ROOT}/{CLUSTER}/{rest}")
}

fn config(connect: &str, rm_id: &str) -> ZkAdapterConfig {
    ZkAdapterConfig {
        connect: connect.to_string(),
        root: ROOT.to_string(),
        cluster_id: CLUSTER.to_string(),
        rm_id: rm_id.to_string(),
        session_timeout: Duration::from_secs(4),
        op_timeout: Duration::from_secs(2),
        digest: None,
        candidate_data: serde_json::json!({ "rm_id": rm_id, "pid": std::process::id() }),
        history_limit: 100,
    }
}

/// One adapter as the daemon drives it: actions in, events out.
struct Peer {
    zk: ZkAdapter,
    rx: mpsc::UnboundedReceiver<Event>,
    seen: Vec<Event>,
    gen: SessionGen,
    session_id: i64,
    next_op: u64,
}

/// Controllers of rm1 and rm2, each with an open session (generation 1) on `server`.
async fn connected_pair(server: &ZkServer) -> (Peer, Peer) {
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    let mut b = Peer::new(config(&server.connect_string(), "rm2"));
    a.open(1).await;
    b.open(1).await;
    (a, b)
}

impl Peer {
    fn new(cfg: ZkAdapterConfig) -> Peer {
        let (tx, rx) = mpsc::unbounded_channel();
        Peer { zk: ZkAdapter::new(cfg, tx), rx, seen: Vec::new(), gen: SessionGen(0), session_id: 0, next_op: 0 }
    }

    /// Waits for the first event `f` accepts (earlier ones are kept in `seen`).
    async fn expect<T>(&mut self, what: &str, within: Duration, mut f: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => {
                    self.seen.push(ev.clone());
                    if let Some(v) = f(&ev) {
                        return v;
                    }
                }
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => panic!("no {what} within {within:?}; events so far: {:#?}", self.seen),
            }
        }
    }

    /// Asserts that nothing `f` accepts arrives within `window`.
    async fn expect_none(&mut self, what: &str, window: Duration, mut f: impl FnMut(&Event) -> bool) {
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            assert!(!f(&ev), "unexpected {what}: {ev:?}");
            self.seen.push(ev);
        }
    }

    /// Waits until the current session reports a lost connection.
    async fn expect_disconnect(&mut self) {
        let g = self.gen;
        self.expect("SessionDisconnected", DEADLINE, |e| {
            matches!(e, Event::SessionDisconnected { gen } if *gen == g).then_some(())
        })
        .await
    }

    /// Waits until the current session is connected again; returns its id. An expiry fails.
    async fn expect_reconnect(&mut self) -> i64 {
        let g = self.gen;
        self.expect("SessionConnected", DEADLINE, |e| match e {
            Event::SessionConnected { gen, session_id } if *gen == g => Some(*session_id),
            Event::SessionExpired { .. } => panic!("the session expired"),
            _ => None,
        })
        .await
    }

    fn op(&mut self) -> OpId {
        self.next_op += 1;
        OpId(self.next_op)
    }

    async fn open(&mut self, gen: u64) -> i64 {
        self.gen = SessionGen(gen);
        self.zk.execute(Action::OpenSession { gen: self.gen });
        let g = self.gen;
        self.session_id = self
            .expect("SessionConnected", DEADLINE, |e| match e {
                Event::SessionConnected { gen, session_id } if *gen == g => Some(*session_id),
                _ => None,
            })
            .await;
        self.session_id
    }

    async fn join(&mut self) -> String {
        let g = self.gen;
        self.zk.execute(Action::JoinElection { gen: g });
        self.expect("Joined", DEADLINE, |e| match e {
            Event::Joined { gen, znode } if *gen == g => Some(znode.clone()),
            Event::JoinFailed { reason, .. } => panic!("join failed: {reason}"),
            _ => None,
        })
        .await
    }

    async fn leave(&mut self, znode: &str) {
        let g = self.gen;
        self.zk.execute(Action::LeaveElection { gen: g, znode: znode.to_string() });
        self.expect("Left", DEADLINE, |e| matches!(e, Event::Left { gen } if *gen == g).then_some(())).await;
    }

    /// The next view of this peer's generation that `ok` accepts (without asking for one).
    async fn view_where(&mut self, what: &str, ok: impl Fn(&[Candidate]) -> bool) -> Vec<Candidate> {
        let g = self.gen;
        self.expect(what, DEADLINE, |e| match e {
            Event::ElectionView { gen, candidates } if *gen == g && ok(candidates) => Some(candidates.clone()),
            _ => None,
        })
        .await
    }

    /// Asks for a view and returns the first one `ok` accepts (a view read before the request
    /// may still be on its way).
    async fn read_election(&mut self, ok: impl Fn(&[Candidate]) -> bool) -> Vec<Candidate> {
        self.zk.execute(Action::ReadElection { gen: self.gen });
        self.view_where("ElectionView after ReadElection", ok).await
    }

    async fn read_state(&mut self) -> Result<StateSnapshot, String> {
        let op = self.op();
        self.zk.execute(Action::ReadState { op, gen: self.gen });
        self.expect("StateRead", DEADLINE, |e| match e {
            Event::StateRead { op: o, result } if *o == op => Some(result.clone().map(|s| *s)),
            _ => None,
        })
        .await
    }

    async fn write(&mut self, own: &str, expected_version: Option<i32>, epoch: u64) -> Result<(), WriteFailure> {
        let op = self.op();
        self.zk.execute(write_action(op, self.gen, own, expected_version, epoch));
        self.expect("StateWritten", DEADLINE, |e| match e {
            Event::StateWritten { op: o, result } if *o == op => Some(result.clone()),
            _ => None,
        })
        .await
    }
}

fn write_action(op: OpId, gen: SessionGen, own: &str, expected_version: Option<i32>, epoch: u64) -> Action {
    let rm = own.split('_').next().unwrap_or("rm?").to_string();
    Action::WriteState {
        op,
        gen,
        own_znode: own.to_string(),
        expected_version,
        state: Box::new(ClusterState {
            epoch,
            active_rm: Some(rm.clone()),
            leader_znode: Some(own.to_string()),
            since_ms: 1_000 * epoch,
            recent_failovers_ms: vec![],
            pause: None,
            switchover: None,
        }),
        breadcrumb: Some(Breadcrumb { active_rm: rm, epoch }),
    }
}

fn history_action(gen: SessionGen, rm: &str, epoch: u64) -> Action {
    Action::AppendHistory {
        gen,
        entry: Box::new(HistoryEntry {
            epoch,
            trigger: Trigger::Startup,
            from: None,
            to: rm.to_string(),
            fenced_by: "none needed".into(),
            outcome: "active".into(),
            fence_ms: 0,
            promote_ms: 3,
        }),
    }
}

/// Polls an async probe until it yields, or panics after `within` (a deadline, not a sleep).
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, within: Duration, mut probe: impl FnMut() -> F) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(start.elapsed() < within, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, fut).await.unwrap_or_else(|_| panic!("{what} took longer than {DEADLINE:?}"))
}

/// An outside observer's session.
async fn raw(connect: &str, digest: Option<&str>) -> zk::Client {
    let mut c = zk::Client::connector();
    if let Some(d) = digest {
        c = c.with_auth("digest", d.as_bytes());
    }
    bounded("connect", c.connect(connect)).await.expect("connect observer")
}

async fn get(client: &zk::Client, p: &str) -> Option<(Vec<u8>, zk::Stat)> {
    match bounded("get_data", client.get_data(p)).await {
        Ok(v) => Some(v),
        Err(zk::Error::NoNode) => None,
        Err(e) => panic!("get_data {p}: {e}"),
    }
}

fn is_protected_name(znode: &str, rm_id: &str) -> bool {
    let Some(rest) = znode.strip_prefix(&format!("{rm_id}_")) else { return false };
    let Some((guid, seq)) = rest.split_once("-n_") else { return false };
    uuid::Uuid::parse_str(guid).is_ok()
        && guid.len() == 36
        && seq.len() == 10
        && seq.bytes().all(|b| b.is_ascii_digit())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_events_carry_the_generation_that_produced_them() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));

    let first = a.open(1).await;
    assert_ne!(first, 0);
    let node = a.join().await;
    assert!(get(&observer, &path(&format!("election/{node}"))).await.is_some());

    // A new generation closes the old session: its ephemeral node goes at once.
    let second = a.open(2).await;
    assert_ne!(second, first, "a new generation is a new session");
    eventually("the old session's node to disappear", DEADLINE, || async {
        get(&observer, &path(&format!("election/{node}"))).await.is_none().then_some(())
    })
    .await;

    // Actions of the old generation are answered as that generation, never as the new one.
    a.zk.execute(Action::JoinElection { gen: SessionGen(1) });
    let failed = a
        .expect("JoinFailed", DEADLINE, |e| match e {
            Event::JoinFailed { gen, .. } => Some(*gen),
            Event::Joined { gen, .. } => panic!("joined as {gen:?} with an old generation's action"),
            _ => None,
        })
        .await;
    assert_eq!(failed, SessionGen(1));
    let op = a.op();
    a.zk.execute(write_action(op, SessionGen(1), "rm1_x-n_0000000000", None, 1));
    let result = a
        .expect("StateWritten", DEADLINE, |e| match e {
            Event::StateWritten { op: o, result } if *o == op => Some(result.clone()),
            _ => None,
        })
        .await;
    assert!(matches!(result, Err(WriteFailure::Unavailable(_))), "{result:?}");
    // Closing a generation ourselves is not reported as that session expiring.
    assert!(
        !a.seen.iter().any(|e| matches!(
            e,
            Event::SessionExpired { gen: SessionGen(1) } | Event::SessionDisconnected { gen: SessionGen(1) }
        )),
        "{:#?}",
        a.seen
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_removes_our_node_at_once_and_reports_nothing() {
    let server = ZkServer::start();
    let (mut a, mut b) = connected_pair(&server).await;
    let na = a.join().await;
    a.view_where("a's view with a", |c| c.iter().any(|c| c.znode == na)).await;
    let nb = b.join().await;
    b.view_where("b's view with a and b", |c| c.len() == 2).await;

    let closing = Instant::now();
    a.zk.close().await;
    // Well before the 4 s session timeout: b (watching a) is told.
    let view = b.view_where("b's view after a closed", |c| c.len() == 1).await;
    assert_eq!(view[0].znode, nb);
    assert!(closing.elapsed() < Duration::from_secs(3), "took {:?}", closing.elapsed());
    assert!(a.zk.snapshot().await.is_err(), "no session after close");
    a.expect_none("event after close", Duration::from_millis(500), |e| {
        matches!(e, Event::SessionExpired { .. } | Event::SessionDisconnected { .. } | Event::ElectionView { .. })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_see_each_other_sorted_with_their_owners_and_protected_names() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    let mut b = Peer::new(config(&server.connect_string(), "rm_2"));
    let (sa, sb) = (a.open(1).await, b.open(7).await);
    let na = a.join().await;
    let nb = b.join().await;
    assert!(is_protected_name(&na, "rm1"), "{na}");
    assert!(is_protected_name(&nb, "rm_2"), "{nb}");

    for peer in [&mut a, &mut b] {
        let view = peer.read_election(|c| c.len() == 2).await;
        let got: Vec<_> = view.iter().map(|c| (c.znode.as_str(), c.rm_id.as_str(), c.owner)).collect();
        assert_eq!(got, vec![(na.as_str(), "rm1", sa), (nb.as_str(), "rm_2", sb)]);
        assert!(view[0].seq < view[1].seq);
    }
    // The node holds the candidate data and, without digest auth, an open ACL.
    let (data, stat) = get(&observer, &path(&format!("election/{na}"))).await.expect("node a");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&data).unwrap()["rm_id"], "rm1");
    assert_eq!(stat.ephemeral_owner, sa);
    let (acl, _) = bounded("get_acl", observer.get_acl(&path("election"))).await.unwrap();
    assert_eq!(
        acl.iter().map(|a| (a.scheme(), a.id(), a.permission())).collect::<Vec<_>>(),
        vec![("world", "anyone", zk::Permission::ALL)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_on_the_predecessor_updates_the_next_candidate_and_only_it_and_state_reads_list_everyone() {
    let server = ZkServer::start();
    let (mut a, mut b) = connected_pair(&server).await;
    let na = a.join().await;
    let nb = b.join().await;
    b.view_where("b's view with a and b", |c| c.len() == 2).await;

    // a leaves: b, watching a, hears of it without asking.
    a.leave(&na).await;
    let view = b.view_where("b's view after a left", |c| c.len() == 1).await;
    assert_eq!(view[0].znode, nb);

    // a joins again, now after b: a watches b; b (lowest) watches nothing.
    let na = a.join().await;
    a.view_where("a's view with b and a", |c| c.len() == 2).await;
    // b hears nothing of a, but a state read lists the election as it is now (a leader judges a
    // switchover target by that list, not by its own older view).
    let snap = b.read_state().await.expect("state read");
    let listed: Vec<_> = snap.candidates.iter().map(|c| c.znode.as_str()).collect();
    assert_eq!(listed, vec![nb.as_str(), na.as_str()]);
    a.leave(&na).await;
    b.expect_none("view sent to the lowest candidate (no herd)", Duration::from_secs(1), |e| {
        matches!(e, Event::ElectionView { .. })
    })
    .await;

    // a joins again behind b; b's session goes away (closed by a new generation): a hears.
    let na = a.join().await;
    a.view_where("a's view with b and a", |c| c.len() == 2).await;
    b.open(2).await;
    let view = a.view_where("a's view after b's session closed", |c| c.iter().all(|c| c.znode != nb)).await;
    assert_eq!(view.iter().map(|c| c.znode.as_str()).collect::<Vec<_>>(), vec![na.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_never_contradicts_an_earlier_joined() {
    // The core sends ReadElection and JoinElection in one step after a (re)connect. A view listed
    // before our node existed but delivered after `Joined` would make the core take its node for
    // gone and join a second time.
    let server = ZkServer::start();
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    let mut b = Peer::new(config(&server.connect_string(), "rm2"));
    b.open(1).await;
    b.join().await; // so a's listing needs a second round trip (stats) before its view goes out
    a.open(1).await;
    let g = a.gen;
    for round in 0..20 {
        // Both orders: the race needs the listing to go out before the create.
        if round % 2 == 0 {
            a.zk.execute(Action::ReadElection { gen: g });
            a.zk.execute(Action::JoinElection { gen: g });
        } else {
            a.zk.execute(Action::JoinElection { gen: g });
            a.zk.execute(Action::ReadElection { gen: g });
        }
        let znode = a
            .expect("Joined", DEADLINE, |e| match e {
                Event::Joined { znode, .. } => Some(znode.clone()),
                _ => None,
            })
            .await;
        a.zk.execute(Action::ReadElection { gen: g });
        a.expect("a view with our node", DEADLINE, |e| match e {
            Event::ElectionView { candidates, .. } => {
                assert!(candidates.iter().any(|c| c.znode == znode), "round {round}: view after Joined lacks {znode}");
                Some(())
            }
            _ => None,
        })
        .await;
        a.leave(&znode).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_writes_are_a_cas_guarded_by_our_election_node() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    a.open(1).await;
    let own = a.join().await;

    let empty = a.read_state().await.expect("read empty state");
    assert_eq!((empty.version, &empty.state, &empty.breadcrumb), (None, &ClusterState::default(), &None));
    assert!(empty.peer_health.is_empty());
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!(empty.read_at_ms.abs_diff(wall) < 60_000, "read_at_ms is wall time");

    assert_eq!(a.write(&own, None, 1).await, Ok(()));
    let snap = a.read_state().await.unwrap();
    assert_eq!((snap.version, snap.state.epoch, snap.state.leader_znode.as_deref()), (Some(0), 1, Some(own.as_str())));
    assert_eq!(snap.breadcrumb, Some(Breadcrumb { active_rm: "rm1".into(), epoch: 1 }));
    assert_eq!(a.write(&own, Some(0), 2).await, Ok(()));

    // A stale version, or creating what exists: conflict, nothing written.
    for stale in [Some(0), None] {
        let r = a.write(&own, stale, 9).await;
        assert!(matches!(r, Err(WriteFailure::Conflict(_))), "{stale:?}: {r:?}");
    }
    // Our node gone (a deposed leader): conflict even with the right version.
    a.leave(&own).await;
    let r = a.write(&own, Some(1), 9).await;
    match r {
        Err(WriteFailure::Conflict(reason)) => assert!(reason.contains("gone"), "{reason}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let snap = a.read_state().await.unwrap();
    assert_eq!((snap.version, snap.state.epoch), (Some(1), 2));
    assert_eq!(snap.breadcrumb.map(|b| b.epoch), Some(2), "state and breadcrumb move together");
    let (_, stat) = get(&observer, &path("breadcrumb")).await.unwrap();
    assert_eq!(stat.version, 1, "the failed writes touched nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_records_are_reported_and_left_untouched() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    a.open(1).await;
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    bounded("mkdir", observer.mkdir(&path("health"), &open)).await.unwrap();
    bounded("create", observer.create(&path("state"), b"{\"epoch\": oops", &open)).await.unwrap();

    let err = a.read_state().await.unwrap_err();
    assert!(err.starts_with(&format!("{}: ", path("state"))), "{err}");
    let (data, stat) = get(&observer, &path("state")).await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"{\"epoch\": oops"[..], 0), "never repaired");

    let good = serde_json::to_vec(&ClusterState { epoch: 4, ..Default::default() }).unwrap();
    bounded("set", observer.set_data(&path("state"), &good, None)).await.unwrap();
    bounded("create", observer.create(&path("breadcrumb"), b"", &open)).await.unwrap();
    let err = a.read_state().await.unwrap_err();
    assert!(err.starts_with(&format!("{}: ", path("breadcrumb"))), "{err}");

    // An unreadable health report is no report; the rest still reads.
    bounded("set", observer.set_data(&path("breadcrumb"), br#"{"active_rm":"rm2","epoch":4}"#, None)).await.unwrap();
    bounded("create", observer.create(&path("health/rm2"), b"garbage", &open)).await.unwrap();
    let snap = a.read_state().await.expect("state readable again");
    assert_eq!((snap.state.epoch, snap.version, snap.peer_health.len()), (4, Some(1), 0));

    let view = a.zk.snapshot().await.expect("snapshot");
    assert_eq!(view.state.map(|s| s.epoch), Some(4));
    bounded("set", observer.set_data(&path("state"), b"[]", None)).await.unwrap();
    let view = a.zk.snapshot().await.expect("snapshot with a corrupt record");
    assert_eq!(view.state, None);
    assert!(view.problems.iter().any(|p| p.starts_with(&path("state"))), "{:?}", view.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_bounded_newest_last() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.history_limit = 3;
    let mut a = Peer::new(cfg);
    a.open(1).await;
    let own = a.join().await;
    let mut version = None;
    for epoch in 1..=5 {
        assert_eq!(a.write(&own, version, epoch).await, Ok(()));
        version = Some(epoch as i32 - 1);
        a.zk.execute(history_action(a.gen, "rm1", epoch));
        // Appends are best effort and unanswered: wait for each, so they stay in order.
        eventually("history entry", DEADLINE, || async {
            let (data, _) = get(&observer, &path("history")).await?;
            let items: Vec<serde_json::Value> = serde_json::from_slice(&data).unwrap();
            (items.last()?["epoch"] == epoch).then_some(())
        })
        .await;
    }
    let (data, _) = get(&observer, &path("history")).await.unwrap();
    let items: Vec<serde_json::Value> = serde_json::from_slice(&data).unwrap();
    let epochs: Vec<_> = items.iter().map(|i| i["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, vec![3, 4, 5]);
    assert!(items.iter().all(|i| i["at_ms"].as_u64().unwrap() > 0 && i["to"] == "rm1"));
    let view = a.zk.snapshot().await.unwrap();
    assert_eq!(view.history.iter().map(|h| h.entry.epoch).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert_eq!(view.candidates.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_are_published_and_read_back_with_their_age() {
    let server = ZkServer::start();
    let (a, mut b) = connected_pair(&server).await;
    for health in [PeerHealth::Dead, PeerHealth::Healthy] {
        a.zk.execute(Action::PublishHealth { gen: a.gen, health });
        let mut reports = Vec::new();
        for _ in 0..100 {
            reports = b.read_state().await.unwrap().peer_health;
            if reports.iter().any(|(rm, h, _)| rm == "rm1" && *h == health) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, _, age) = reports.iter().find(|(rm, h, _)| rm == "rm1" && *h == health).expect("report seen");
        assert!(*age < 10_000, "age {age} ms");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_auth_creates_every_znode_with_the_digest_acl() {
    let server = ZkServer::start();
    let cs = server.connect_string();
    let secret = "rmfc:s3cret";
    let mut cfg = config(&cs, "rm1");
    cfg.digest = Some(secret.into());
    let mut a = Peer::new(cfg.clone());
    cfg.rm_id = "rm2".into();
    let mut b = Peer::new(cfg);
    a.open(1).await;
    b.open(1).await;
    let own = a.join().await;
    let nb = b.join().await; // a peer with the same credentials can use the directories
    assert_eq!(a.write(&own, None, 1).await, Ok(()));
    a.zk.execute(history_action(a.gen, "rm1", 1));
    a.zk.execute(Action::PublishHealth { gen: a.gen, health: PeerHealth::Healthy });

    let observer = raw(&cs, None).await;
    let paths = [
        ROOT.to_string(),
        format!("{ROOT}/{CLUSTER}"),
        path("election"),
        path(&format!("election/{own}")),
        path(&format!("election/{nb}")),
        path("state"),
        path("breadcrumb"),
        path("history"),
        path("health"),
        path("health/rm1"),
    ];
    for p in &paths {
        eventually(&format!("{p} to exist"), DEADLINE, || async { get(&observer, p).await.map(drop) }).await;
        let (acl, _) = bounded("get_acl", observer.get_acl(p)).await.unwrap();
        let got: Vec<_> = acl.iter().map(|a| (a.scheme().to_string(), a.id().to_string(), a.permission())).collect();
        assert_eq!(got.len(), 2, "{p}: {got:?}");
        assert_eq!((got[0].0.as_str(), got[0].2), ("digest", zk::Permission::ALL), "{p}: {got:?}");
        assert!(got[0].1.starts_with("rmfc:") && got[0].1.len() > "rmfc:".len(), "{p}: {got:?}");
        assert_eq!(got[1], ("world".into(), "anyone".into(), zk::Permission::READ), "{p}");
    }
    // Anyone may read; only the digest identity may write.
    assert_eq!(bounded("set", observer.set_data(&path("state"), b"{}", None)).await, Err(zk::Error::NoAuth));
    let authed = raw(&cs, Some(secret)).await;
    let (_, stat) = get(&authed, &path("state")).await.unwrap();
    bounded("set", authed.set_data(&path("state"), &get(&authed, &path("state")).await.unwrap().0, Some(stat.version)))
        .await
        .expect("the digest identity may write");
}

fn slow_server() -> ZkServer {
    ZkServer::builder().tick_time(200).max_session_timeout(60_000).start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_lost_in_a_frozen_connection_leaves_exactly_one_node() {
    // The create goes out to a frozen server and gets no answer; the server comes back while
    // the session lives. Whether the join finds its node by the protected name or gives up,
    // the session must end up owning exactly the node it reported (or none).
    let server = slow_server();
    let observer = raw(&server.connect_string(), None).await;
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(10);
    cfg.op_timeout = Duration::from_secs(6);
    let mut a = Peer::new(cfg);
    let id = a.open(1).await;
    let g = a.gen;
    bounded("mkdir", observer.mkdir(&path("election"), &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())))
        .await
        .unwrap();

    server.stop();
    a.zk.execute(Action::JoinElection { gen: g });
    let (mut frozen, mut joined) = (true, None);
    while frozen || joined.is_none() {
        let next = a
            .expect("a disconnect or the join's outcome", DEADLINE, |e| match e {
                Event::SessionDisconnected { gen } if *gen == g => Some(None),
                Event::Joined { znode, .. } => Some(Some(Some(znode.clone()))),
                Event::JoinFailed { .. } => Some(Some(None)),
                _ => None,
            })
            .await;
        match next {
            None => {
                server.cont();
                frozen = false;
            }
            outcome => joined = outcome,
        }
    }
    let joined = joined.expect("outcome");
    eprintln!("join across a frozen connection: {joined:?}");
    let expected: Vec<String> = joined.into_iter().collect();
    let started = Instant::now();
    loop {
        let view = a.read_election(|_| true).await;
        let ours: Vec<String> = view.iter().filter(|c| c.owner == id).map(|c| c.znode.clone()).collect();
        let on_server = bounded("list", observer.list_children(&path("election"))).await.unwrap();
        if ours == expected && on_server == expected {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "session owns {ours:?}, server has {on_server:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_is_reported_as_a_disconnect_and_the_same_session_comes_back() {
    let server = slow_server();
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(6);
    let mut a = Peer::new(cfg);
    let id = a.open(1).await;

    server.stop();
    let frozen = Instant::now();
    a.expect_disconnect().await;
    eprintln!("disconnect reported {:?} after SIGSTOP (session timeout 6 s)", frozen.elapsed());
    assert!(frozen.elapsed() < Duration::from_secs(6), "a disconnect must be seen before the session can expire");

    server.cont();
    let again = a.expect_reconnect().await;
    assert_eq!(again, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_within_the_session_timeout_keeps_the_session_and_its_node() {
    let mut server = slow_server();
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(15);
    let mut a = Peer::new(cfg);
    let id = a.open(1).await;
    let own = a.join().await;

    server.kill();
    let killed = Instant::now();
    a.expect_disconnect().await;
    eprintln!("disconnect reported {:?} after SIGKILL", killed.elapsed());
    server.restart();
    let again = a.expect_reconnect().await;
    eprintln!("same session reconnected {:?} after SIGKILL", killed.elapsed());
    assert_eq!(again, id, "the same session comes back");
    let view = a.read_election(|c| c.len() == 1).await;
    assert_eq!(view.iter().map(|c| (c.znode.as_str(), c.owner)).collect::<Vec<_>>(), vec![(own.as_str(), id)]);
    assert_eq!(a.write(&own, None, 1).await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_freeze_expires_the_session_and_a_new_generation_recovers() {
    let server = slow_server();
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(2);
    let mut a = Peer::new(cfg);
    let first = a.open(1).await;
    let g = a.gen;

    server.stop();
    let frozen = Instant::now();
    a.expect_disconnect().await;
    let disconnected = frozen.elapsed();
    a.expect("SessionExpired", DEADLINE, |e| matches!(e, Event::SessionExpired { gen } if *gen == g).then_some(()))
        .await;
    eprintln!("session timeout 2 s: disconnect reported after {disconnected:?}, expiry after {:?}", frozen.elapsed());
    assert!(frozen.elapsed() >= Duration::from_secs(2), "not expired before the session timeout");

    server.cont();
    wait_for("the server to serve again", DEADLINE, || server.mode());
    let second = a.open(2).await;
    assert_ne!(second, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_an_ensemble_node_keeps_the_session_on_a_multi_host_connect_string() {
    let mut ensemble = ZkEnsemble::start(3);
    let mut cfg = config(&ensemble.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(8);
    let mut a = Peer::new(cfg);
    let id = a.open(1).await;
    let own = a.join().await;

    let leader = ensemble.wait_leader(DEADLINE);
    ensemble.kill(leader);
    ensemble.wait_leader(DEADLINE);
    // Whichever node the session was on, it carries on (possibly after a reconnect).
    let mut written = Err(WriteFailure::Unavailable("not tried".into()));
    let started = Instant::now();
    while written.is_err() && started.elapsed() < DEADLINE {
        // A write whose answer was lost may have landed: read the version before each try.
        if let Ok(snap) = a.read_state().await {
            written = a.write(&own, snap.version, snap.state.epoch + 1).await;
        }
        if written.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(written, Ok(()));
    let view = a.read_election(|c| c.len() == 1).await;
    assert_eq!(view.iter().map(|c| (c.znode.as_str(), c.owner)).collect::<Vec<_>>(), vec![(own.as_str(), id)]);
    assert!(!a.seen.iter().any(|e| matches!(e, Event::SessionExpired { .. })), "{:#?}", a.seen);
}
