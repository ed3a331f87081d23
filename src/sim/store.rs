//! A ZooKeeper state store fenced the way YARN's `ZKRMStateStore` fences: the RM that becomes
//! active takes exclusive CREATE/DELETE rights on the store root's ACL (a digest identity unique
//! to this process), and every write is a multi `[create fencing lock, write, delete fencing
//! lock]`, so a deposed active's next write fails with NoAuth.
//!
//! Owns: the ZooKeeper session of the simulated RM and the store layout. Must not: change the
//! RM's HA state (it reports; the RM decides).

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use zookeeper_client as zk;

/// The fencing lock YARN creates and deletes around every store operation.
pub const FENCING_LOCK: &str = "RM_ZK_FENCING_LOCK";
/// The record the active RM rewrites every heartbeat.
pub const HEARTBEAT_NODE: &str = "RMSimHeartbeat";
const OP_TIMEOUT: Duration = Duration::from_secs(3);

/// What an active RM writes each heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub rm_id: String,
    pub term: u64,
    pub seq: u64,
    pub wall_ms: u64,
    pub web_address: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another RM owns the store: we were fenced.
    #[error("fenced: {0}")]
    Fenced(zk::Error),
    /// The session is gone; a new one will be made on the next operation.
    #[error("ZooKeeper session expired")]
    SessionExpired,
    /// Transient: no answer or connection loss.
    #[error("ZooKeeper unavailable: {0}")]
    Unavailable(String),
    #[error("node already exists")]
    Exists,
    #[error("node does not exist")]
    NoNode,
}

impl From<zk::Error> for StoreError {
    fn from(e: zk::Error) -> Self {
        match e {
            zk::Error::NoAuth => StoreError::Fenced(e),
            zk::Error::SessionExpired => StoreError::SessionExpired,
            zk::Error::NodeExists => StoreError::Exists,
            zk::Error::NoNode => StoreError::NoNode,
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

impl From<zk::MultiWriteError> for StoreError {
    fn from(e: zk::MultiWriteError) -> Self {
        zk::Error::from(e).into()
    }
}

async fn timed<T, E: Into<StoreError>>(f: impl std::future::Future<Output = Result<T, E>>) -> Result<T, StoreError> {
    match tokio::time::timeout(OP_TIMEOUT, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(StoreError::Unavailable(format!("no answer within {OP_TIMEOUT:?}"))),
    }
}

/// The fenced store of one simulated RM.
pub struct FencedStore {
    connect: String,
    root: String,
    session_timeout: Duration,
    /// `user:password` of this process's digest identity.
    credentials: String,
    client: tokio::sync::Mutex<Option<zk::Client>>,
}

impl FencedStore {
    pub fn new(connect: &str, root: &str, session_timeout: Duration, rm_id: &str) -> Self {
        // Like the RM: a fixed user and a random password per process (ResourceManager.zkRootNodePassword).
        let password: i64 = rand::rng().random();
        FencedStore {
            connect: connect.to_string(),
            root: root.trim_end_matches('/').to_string(),
            session_timeout,
            credentials: format!("rmfc-sim-{rm_id}:{password}"),
            client: tokio::sync::Mutex::new(None),
        }
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    fn path(&self, child: &str) -> String {
        format!("{}/{child}", self.root)
    }

    /// The live client, making a new session when there is none or the old one expired.
    async fn client(&self) -> Result<zk::Client, StoreError> {
        let mut guard = self.client.lock().await;
        if let Some(c) = guard.as_ref() {
            if !matches!(c.state(), zk::SessionState::Expired | zk::SessionState::Closed | zk::SessionState::AuthFailed)
            {
                return Ok(c.clone());
            }
        }
        let connector = zk::Client::connector()
            .with_session_timeout(self.session_timeout)
            .with_auth("digest", self.credentials.as_bytes());
        let c = timed(connector.connect(&self.connect)).await?;
        *guard = Some(c.clone());
        Ok(c)
    }

    /// Takes the store: creates the root if needed, makes this process the only identity with
    /// CREATE/DELETE on it (`ZKRMStateStore.startInternal` → `setRootNodeAcls`), removes a stale
    /// fencing lock and makes sure the heartbeat record exists.
    pub async fn activate(&self) -> Result<(), StoreError> {
        let c = self.client().await?;
        let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        if timed(c.check_stat(&self.root)).await?.is_none() {
            match timed(c.mkdir(&self.root, &open)).await {
                Ok(()) | Err(StoreError::Exists) => {}
                Err(e) => return Err(e),
            }
        }
        let acl = [
            zk::Acl::new(zk::Permission::READ | zk::Permission::WRITE | zk::Permission::ADMIN, zk::AuthId::anyone()),
            // "auth" expands, on the server, to this session's digest identity.
            zk::Acl::new(zk::Permission::CREATE | zk::Permission::DELETE, zk::AuthId::authed()),
        ];
        timed(c.set_acl(&self.root, &acl, None)).await?;
        match timed(c.delete(&self.path(FENCING_LOCK), None)).await {
            Ok(()) | Err(StoreError::NoNode) => {}
            Err(e) => return Err(e),
        }
        if timed(c.check_stat(&self.path(HEARTBEAT_NODE))).await?.is_none() {
            let mut w = c.new_multi_writer();
            self.add_fenced(&mut w, |w, s| w.add_create(&s.path(HEARTBEAT_NODE), b"{}", &open))?;
            match timed(w.commit()).await {
                Ok(_) => {}
                Err(StoreError::Exists) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn add_fenced(
        &self,
        w: &mut zk::MultiWriter<'_>,
        op: impl FnOnce(&mut zk::MultiWriter<'_>, &Self) -> Result<(), zk::Error>,
    ) -> Result<(), StoreError> {
        let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        w.add_create(&self.path(FENCING_LOCK), &[], &open)?;
        op(w, self)?;
        w.add_delete(&self.path(FENCING_LOCK), None)?;
        Ok(())
    }

    /// One fenced write of the heartbeat record; returns the zxid ZooKeeper gave it.
    pub async fn write_heartbeat(&self, hb: &Heartbeat) -> Result<i64, StoreError> {
        let c = self.client().await?;
        let data = serde_json::to_vec(hb).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut w = c.new_multi_writer();
        self.add_fenced(&mut w, |w, s| w.add_set_data(&s.path(HEARTBEAT_NODE), &data, None))?;
        let results = timed(w.commit()).await?;
        for r in results {
            if let zk::MultiWriteResult::SetData { stat } = r {
                return Ok(stat.mzxid);
            }
        }
        Err(StoreError::Unavailable("multi returned no setData result".into()))
    }

    /// The last heartbeat any RM wrote (to find the active for redirects).
    pub async fn read_heartbeat(&self) -> Option<Heartbeat> {
        let c = self.client().await.ok()?;
        let (data, _) = timed(c.get_data(&self.path(HEARTBEAT_NODE))).await.ok()?;
        serde_json::from_slice(&data).ok()
    }
}
