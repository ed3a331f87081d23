//! One adapter as the daemon drives it (`Peer`: actions in, events out), an outside observer's
//! raw session, and the waits the tests share.

pub use std::future::Future;
pub use std::time::{Duration, Instant};

pub use crate::support::wait::wait_for;
pub use crate::support::zk::{ZkEnsemble, ZkServer};
pub use rmfc::core::io::WriteFailure;
pub use rmfc::core::types::{
    Breadcrumb, Candidate, ClusterState, HistoryEntry, OpId, PeerHealth, SessionGen, StateSnapshot, Trigger,
};
pub use rmfc::core::{Action, Event};
pub use rmfc::zk::{ZkAdapter, ZkAdapterConfig, ZkSecurity};
pub use tokio::sync::mpsc;
pub use zookeeper_client as zk;

pub const DEADLINE: Duration = Duration::from_secs(20);
pub const ROOT: &str = "/rmfc-test";
pub const CLUSTER: &str = "c1";

pub fn path(rest: &str) -> String {
    format!("{ROOT}/{CLUSTER}/{rest}")
}

pub fn config(connect: &str, rm_id: &str) -> ZkAdapterConfig {
    ZkAdapterConfig {
        connect: connect.to_string(),
        root: ROOT.to_string(),
        cluster_id: CLUSTER.to_string(),
        rm_id: rm_id.to_string(),
        session_timeout: Duration::from_secs(4),
        op_timeout: Duration::from_secs(2),
        security: ZkSecurity::default(),
        acl: None,
        candidate_data: serde_json::json!({ "rm_id": rm_id, "pid": std::process::id() }),
        history_limit: 100,
    }
}

/// One adapter as the daemon drives it: actions in, events out.
pub struct Peer {
    pub zk: ZkAdapter,
    pub rx: mpsc::UnboundedReceiver<Event>,
    pub seen: Vec<Event>,
    pub gen: SessionGen,
    pub session_id: i64,
    pub next_op: u64,
}

/// Controllers of rm1 and rm2, each with an open session (generation 1) on `server`.
pub async fn connected_pair(server: &ZkServer) -> (Peer, Peer) {
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    let mut b = Peer::new(config(&server.connect_string(), "rm2"));
    a.open(1).await;
    b.open(1).await;
    (a, b)
}

impl Peer {
    pub fn new(cfg: ZkAdapterConfig) -> Peer {
        let (tx, rx) = mpsc::unbounded_channel();
        Peer { zk: ZkAdapter::new(cfg, tx), rx, seen: Vec::new(), gen: SessionGen(0), session_id: 0, next_op: 0 }
    }

    /// Waits for the first event `f` accepts (earlier ones are kept in `seen`).
    pub async fn expect<T>(&mut self, what: &str, within: Duration, mut f: impl FnMut(&Event) -> Option<T>) -> T {
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
    pub async fn expect_none(&mut self, what: &str, window: Duration, mut f: impl FnMut(&Event) -> bool) {
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            assert!(!f(&ev), "unexpected {what}: {ev:?}");
            self.seen.push(ev);
        }
    }

    /// Waits until the current session reports a lost connection.
    pub async fn expect_disconnect(&mut self) {
        let g = self.gen;
        self.expect("SessionDisconnected", DEADLINE, |e| {
            matches!(e, Event::SessionDisconnected { gen } if *gen == g).then_some(())
        })
        .await
    }

    /// Waits until the current session is connected again; returns its id. An expiry fails.
    pub async fn expect_reconnect(&mut self) -> i64 {
        let g = self.gen;
        self.expect("SessionConnected", DEADLINE, |e| match e {
            Event::SessionConnected { gen, session_id } if *gen == g => Some(*session_id),
            Event::SessionExpired { .. } => panic!("the session expired"),
            _ => None,
        })
        .await
    }

    pub fn op(&mut self) -> OpId {
        self.next_op += 1;
        OpId(self.next_op)
    }

    pub async fn open(&mut self, gen: u64) -> i64 {
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

    pub async fn join(&mut self) -> String {
        let g = self.gen;
        self.zk.execute(Action::JoinElection { gen: g });
        self.expect("Joined", DEADLINE, |e| match e {
            Event::Joined { gen, znode } if *gen == g => Some(znode.clone()),
            Event::JoinFailed { reason, .. } => panic!("join failed: {reason}"),
            _ => None,
        })
        .await
    }

    pub async fn leave(&mut self, znode: &str) {
        let g = self.gen;
        self.zk.execute(Action::LeaveElection { gen: g, znode: znode.to_string() });
        self.expect("Left", DEADLINE, |e| matches!(e, Event::Left { gen } if *gen == g).then_some(())).await;
    }

    /// The next view of this peer's generation that `ok` accepts (without asking for one).
    pub async fn view_where(&mut self, what: &str, ok: impl Fn(&[Candidate]) -> bool) -> Vec<Candidate> {
        let g = self.gen;
        self.expect(what, DEADLINE, |e| match e {
            Event::ElectionView { gen, candidates } if *gen == g && ok(candidates) => Some(candidates.clone()),
            _ => None,
        })
        .await
    }

    /// Asks for a view and returns the first one `ok` accepts (a view read before the request
    /// may still be on its way).
    pub async fn read_election(&mut self, ok: impl Fn(&[Candidate]) -> bool) -> Vec<Candidate> {
        self.zk.execute(Action::ReadElection { gen: self.gen });
        self.view_where("ElectionView after ReadElection", ok).await
    }

    pub async fn read_state(&mut self) -> Result<StateSnapshot, String> {
        let op = self.op();
        self.zk.execute(Action::ReadState { op, gen: self.gen });
        self.expect("StateRead", DEADLINE, |e| match e {
            Event::StateRead { op: o, result } if *o == op => Some(result.clone().map(|s| *s)),
            _ => None,
        })
        .await
    }

    pub async fn write(&mut self, own: &str, expected_version: Option<i32>, epoch: u64) -> Result<(), WriteFailure> {
        let op = self.op();
        self.zk.execute(write_action(op, self.gen, own, expected_version, epoch));
        self.expect("StateWritten", DEADLINE, |e| match e {
            Event::StateWritten { op: o, result } if *o == op => Some(result.clone()),
            _ => None,
        })
        .await
    }
}

pub fn write_action(op: OpId, gen: SessionGen, own: &str, expected_version: Option<i32>, epoch: u64) -> Action {
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
            failsafe: None,
        }),
        breadcrumb: Some(Breadcrumb { active_rm: rm, epoch }),
    }
}

pub fn history_action(gen: SessionGen, rm: &str, epoch: u64) -> Action {
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
pub async fn eventually<T, F: Future<Output = Option<T>>>(
    what: &str,
    within: Duration,
    mut probe: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(start.elapsed() < within, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn bounded<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, fut).await.unwrap_or_else(|_| panic!("{what} took longer than {DEADLINE:?}"))
}

/// An outside observer's session.
pub async fn raw(connect: &str, digest: Option<&str>) -> zk::Client {
    let mut c = zk::Client::connector();
    if let Some(d) = digest {
        c = c.with_auth("digest", d.as_bytes());
    }
    bounded("connect", c.connect(connect)).await.expect("connect observer")
}

/// Creates `path(rest)` and its parents from the outside, open to anyone.
pub async fn mkdir(observer: &zk::Client, rest: &str) {
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    bounded("mkdir", observer.mkdir(&path(rest), &open)).await.unwrap_or_else(|e| panic!("mkdir {rest}: {e}"));
}

/// Creates `path(rest)` holding `data` from the outside (its parent must exist), open to anyone.
pub async fn create(observer: &zk::Client, rest: &str, data: &[u8]) {
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    bounded("create", observer.create(&path(rest), data, &open)).await.unwrap_or_else(|e| panic!("create {rest}: {e}"));
}

pub async fn get(client: &zk::Client, p: &str) -> Option<(Vec<u8>, zk::Stat)> {
    match bounded("get_data", client.get_data(p)).await {
        Ok(v) => Some(v),
        Err(zk::Error::NoNode) => None,
        Err(e) => panic!("get_data {p}: {e}"),
    }
}

pub fn is_protected_name(znode: &str, rm_id: &str) -> bool {
    let Some(rest) = znode.strip_prefix(&format!("{rm_id}_")) else { return false };
    let Some((guid, seq)) = rest.split_once("-n_") else { return false };
    uuid::Uuid::parse_str(guid).is_ok()
        && guid.len() == 36
        && seq.len() == 10
        && seq.bytes().all(|b| b.is_ascii_digit())
}
