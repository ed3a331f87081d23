//! What every security test shares: an rmfc config written as an operator writes it and
//! turned into adapter settings by the daemon's own wiring; a controller that creates every
//! kind of znode rmfc owns; the ACLs found on them; and the checks that an intruder can neither
//! change nor (with the default ACL) read rmfc's state.

use std::path::Path;

use rmfc::config::Config;
use rmfc::daemon::wiring;
use rmfc::fence::FenceAdapter;

pub use crate::harness::*;

/// rmfc's config for `rm_id` with `zookeeper` connecting to `connect` and `zk_extra` (YAML lines
/// of the `zookeeper` section, indented by two) and `extra` (more sections). Root and cluster
/// are the harness's, so its `path()` names the znodes.
pub fn rmfc_config(connect: &str, rm_id: &str, zk_extra: &str, extra: &str) -> Config {
    let yaml = format!(
        "cluster_id: {CLUSTER}\n\
         rm_id: {rm_id}\n\
         resource_managers:\n  \
           rm1: {{ admin_address: 'localhost:18033', web_address: 'http://localhost:18088' }}\n  \
           rm2: {{ admin_address: 'localhost:28033', web_address: 'http://localhost:28088' }}\n\
         zookeeper:\n  \
           connect: '{connect}'\n  \
           root: {ROOT}\n  \
           session_timeout: 4s\n\
         {zk_extra}{extra}"
    );
    Config::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\nin:\n{yaml}"))
}

/// The adapter settings the daemon would make of `cfg` (secrets read from their files now).
pub fn adapter_config(cfg: &Config) -> ZkAdapterConfig {
    let access = wiring::zk_access(cfg).unwrap_or_else(|e| panic!("{e:#}"));
    wiring::zk_config(cfg, &access)
}

/// The fence adapter the daemon would make of `cfg`, with its event channel.
pub fn fence_adapter(cfg: &Config) -> (FenceAdapter, mpsc::UnboundedReceiver<Event>) {
    let access = wiring::zk_access(cfg).unwrap_or_else(|e| panic!("{e:#}"));
    let (tx, rx) = mpsc::unbounded_channel();
    (FenceAdapter::new(wiring::fence_config(cfg, &access, Default::default()), tx), rx)
}

/// Writes `text` to `dir/name`, readable by its owner only (as a secret should be).
pub fn secret(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    p.display().to_string()
}

/// What a controller left in ZooKeeper: its own candidate and every other rmfc znode.
pub struct Written {
    pub own: String,
}

impl Written {
    /// Every znode rmfc created, parents included.
    pub fn paths(&self) -> Vec<String> {
        vec![
            ROOT.to_string(),
            format!("{ROOT}/{CLUSTER}"),
            path("election"),
            path(&format!("election/{}", self.own)),
            path("state"),
            path("breadcrumb"),
            path("history"),
            path("health"),
            path("health/rm1"),
        ]
    }
}

/// Opens a session, joins the election, writes the state (and breadcrumb), appends to the
/// history and publishes health: every kind of znode rmfc creates, from an empty tree.
pub async fn create_everything(peer: &mut Peer) -> Written {
    peer.open(1).await;
    let own = peer.join().await;
    assert_eq!(peer.write(&own, None, 1).await, Ok(()), "the state write");
    peer.zk.execute(history_action(peer.gen, "rm1", 1));
    peer.zk.execute(Action::PublishHealth { gen: peer.gen, health: PeerHealth::Healthy });
    Written { own }
}

/// `(scheme, id, permission)` of each entry of `p`'s ACL, read by `client` once `p` exists.
pub async fn acl_of(client: &zk::Client, p: &str) -> Vec<(String, String, zk::Permission)> {
    eventually(&format!("{p} to exist"), DEADLINE, || async { get(client, p).await.map(drop) }).await;
    let (acl, _) = bounded("get_acl", client.get_acl(p)).await.unwrap_or_else(|e| panic!("get_acl {p}: {e}"));
    acl.iter().map(|a| (a.scheme().to_string(), a.id().to_string(), a.permission())).collect()
}

/// A session with `security` (a raw client, no rmfc adapter), or the connect error.
pub async fn connect_as(connect: &str, security: &ZkSecurity) -> Result<zk::Client, zk::Error> {
    let connector = zk::Client::connector().with_session_timeout(Duration::from_secs(4)).with_fail_eagerly();
    bounded("connect", security.connect(connector, connect)).await
}

/// `intruder` cannot change rmfc's znodes — set or delete the state, delete our candidate,
/// create a candidate or a sibling of the state — and, when `read` is false, cannot read the
/// state or list the candidates either. Every refusal is ZooKeeper's NoAuth.
pub async fn assert_locked_out(intruder: &zk::Client, written: &Written, read: bool) {
    let state = path("state");
    let own = path(&format!("election/{}", written.own));
    let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let ephemeral = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    let refused = [
        ("set the state", bounded("set", intruder.set_data(&state, b"{\"epoch\": 99}", None)).await.map(drop)),
        ("delete the state", bounded("delete", intruder.delete(&state, None)).await),
        ("delete our candidate", bounded("delete", intruder.delete(&own, None)).await),
        (
            "create a candidate",
            bounded("create", intruder.create(&path("election/rm9_x-n_0000000001"), b"{}", &ephemeral)).await.map(drop),
        ),
        ("create beside the state", bounded("create", intruder.create(&path("evil"), b"", &open)).await.map(drop)),
    ];
    for (what, result) in refused {
        assert_eq!(result, Err(zk::Error::NoAuth), "an intruder could {what}");
    }
    let reads = [
        ("read the state", bounded("get", intruder.get_data(&state)).await.map(drop)),
        ("list the candidates", bounded("list", intruder.list_children(&path("election"))).await.map(drop)),
    ];
    for (what, result) in reads {
        if read {
            assert_eq!(result, Ok(()), "{what} is allowed");
        } else {
            assert_eq!(result, Err(zk::Error::NoAuth), "an intruder could {what}");
        }
    }
}

/// The state rmfc wrote is still there, unchanged (epoch 1, version 0).
pub async fn assert_state_intact(reader: &zk::Client) {
    let (data, stat) = get(reader, &path("state")).await.expect("the state znode exists");
    let state: ClusterState = serde_json::from_slice(&data).expect("rmfc's state JSON");
    assert_eq!((state.epoch, stat.version), (1, 0), "the state was not touched");
}

/// The zk_state_store fencing step (record the store root's ACL) through `fencer`, by `execute`.
pub async fn store_fence_step(fencer: &FenceAdapter, rx: &mut mpsc::UnboundedReceiver<Event>) -> Result<(), String> {
    let op = OpId(77);
    let step = rmfc::core::io::FenceStep::Method(0);
    fencer.execute(Action::Fence { op, target: "rm2".into(), step, epoch: 1 });
    let ev = tokio::time::timeout(DEADLINE, rx.recv()).await.expect("FenceDone in time").expect("channel open");
    match ev {
        Event::FenceDone { op: got, result } if got == op => result,
        other => panic!("expected FenceDone, got {other:?}"),
    }
}
