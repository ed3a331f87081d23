//! The `zk_state_store` fencing method. YARN's ZKRMStateStore fences by itself: the RM that
//! becomes active sets the store root's ACL so that only its own digest identity may CREATE and
//! DELETE under it, and an old active's next write fails with NoAuth (it then drops to STANDBY).
//! rmfc cannot do that fencing, only check it happened: the fencing step records who holds
//! CREATE on the root *before* the promotion, and the verification after the promotion waits for
//! those holders to be replaced by someone else.
//!
//! Owns: the read-only ZooKeeper session to the store's ensemble, the record, and the rule for
//! "changed hands" (pure, tested here). Must not: write to the store or its ACL (that is the
//! RM's job; touching it would break the very fencing it checks).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use zookeeper_client as zk;

use crate::zk::ZkSecurity;

/// ZKRMStateStore's root with Hadoop's default `yarn.resourcemanager.zk-state-store.parent-path`.
pub const DEFAULT_STORE_ROOT: &str = "/rmstore/ZKRMStateRoot";
/// The identity that means "everyone".
const WORLD_ANYONE: &str = "world:anyone";
/// The record is one read: it gets at most this long (or `verify_timeout` when shorter), so a
/// ZooKeeper outage fails the step quickly instead of holding the promotion up.
const RECORD_TIMEOUT_MAX: Duration = Duration::from_secs(3);
const POLL_EVERY: Duration = Duration::from_millis(100);
const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn record_timeout(verify_timeout: Duration) -> Duration {
    if verify_timeout.is_zero() {
        RECORD_TIMEOUT_MAX
    } else {
        verify_timeout.min(RECORD_TIMEOUT_MAX)
    }
}

/// Who held CREATE on the store root when the fencing step ran.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    path: String,
    epoch: u64,
    /// `scheme:id` of every ACL entry with CREATE; empty when the root did not exist.
    holders: BTreeSet<String>,
}

pub(super) struct StoreWatch {
    connect: String,
    /// The same credentials and transport as rmfc's own sessions.
    security: ZkSecurity,
    client: tokio::sync::Mutex<Option<zk::Client>>,
    /// The latest record; taken by a successful verification.
    record: Mutex<Option<Record>>,
}

/// `scheme:id` of every entry that grants CREATE.
fn create_holders(acl: &[zk::Acl]) -> BTreeSet<String> {
    acl.iter()
        .filter(|a| a.permission().has(zk::Permission::CREATE))
        .map(|a| format!("{}:{}", a.scheme(), a.id()))
        .collect()
}

/// Did CREATE on the store root change hands between `before` and `now`? Stricter than "the set
/// differs": every identity that held it before must have lost it (one that kept it can still
/// write), someone must hold it now, and that someone must not be everyone.
fn changed_hands(before: &BTreeSet<String>, now: &BTreeSet<String>) -> Result<(), String> {
    if now.is_empty() {
        return Err("nobody holds CREATE on it".into());
    }
    if now.contains(WORLD_ANYONE) {
        return Err(format!(
            "{WORLD_ANYONE} holds CREATE on it, so nothing is fenced (is the RM's store ZKRMStateStore, with HA enabled?)"
        ));
    }
    let kept: BTreeSet<&String> = before.intersection(now).collect();
    if !kept.is_empty() {
        return Err(format!("CREATE is still held by {}", list(kept)));
    }
    Ok(())
}

fn list<'a>(ids: impl IntoIterator<Item = &'a String>) -> String {
    let v: Vec<&str> = ids.into_iter().map(String::as_str).collect();
    if v.is_empty() {
        "nobody".into()
    } else {
        format!("[{}]", v.join(", "))
    }
}

impl StoreWatch {
    pub(super) fn new(connect: &str, security: ZkSecurity) -> Self {
        StoreWatch {
            connect: connect.to_string(),
            security,
            client: tokio::sync::Mutex::new(None),
            record: Mutex::new(None),
        }
    }

    /// The fencing step: records the root's CREATE holders now. A missing root is an empty
    /// record (there is nothing to protect yet); an unreadable one fails the step.
    pub(super) async fn record(&self, path: &str, epoch: u64, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let holders = self
            .read_holders(path, deadline)
            .await
            .map_err(|e| format!("cannot read the ACL of store root {path}: {e}"))?;
        let existed = holders.is_some();
        let holders = holders.unwrap_or_default();
        tracing::info!(path, existed, holders = %list(&holders), "recorded the state store root's CREATE holders; the RM that activates must take them over");
        *self.record.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Record { path: path.to_string(), epoch, holders });
        Ok(())
    }

    /// After the promotion: polls the recorded root until its CREATE holders changed hands, for
    /// up to the matching method's `verify_timeout` (`stores`: configured path and timeout).
    pub(super) async fn verify(&self, stores: &[(&str, Duration)], epoch: u64) -> Result<(), String> {
        let Some(rec) = self.record.lock().unwrap_or_else(|p| p.into_inner()).clone() else {
            return Err("no store ACL was recorded before this promotion (the zk_state_store fencing step did not run): cannot tell whether the store changed hands".into());
        };
        let timeout =
            stores.iter().find(|(p, _)| *p == rec.path).or(stores.first()).map(|(_, t)| *t).unwrap_or_default();
        let deadline = Instant::now() + timeout;
        let last = loop {
            let why = match self.read_holders(&rec.path, deadline).await {
                Ok(Some(now)) => match changed_hands(&rec.holders, &now) {
                    Ok(()) => {
                        tracing::info!(path = %rec.path, recorded_epoch = rec.epoch, epoch, before = %list(&rec.holders), now = %list(&now), "store root changed hands");
                        let mut slot = self.record.lock().unwrap_or_else(|p| p.into_inner());
                        if slot.as_ref() == Some(&rec) {
                            *slot = None;
                        }
                        return Ok(());
                    }
                    Err(why) => why,
                },
                Ok(None) => "it does not exist".to_string(),
                Err(e) => e,
            };
            if Instant::now() + POLL_EVERY >= deadline {
                break why;
            }
            tokio::time::sleep(POLL_EVERY).await;
        };
        Err(format!(
            "store root ACL did not change hands within {timeout:?}: {}: {last} (CREATE holders recorded at epoch {}: {})",
            rec.path,
            rec.epoch,
            list(&rec.holders)
        ))
    }

    /// CREATE holders of `path`, `None` when it does not exist.
    async fn read_holders(&self, path: &str, deadline: Instant) -> Result<Option<BTreeSet<String>>, String> {
        let client = self.client(deadline).await?;
        match tokio::time::timeout_at(deadline, client.get_acl(path)).await {
            Err(_) => Err(format!("no answer from ZooKeeper {}", self.connect)),
            Ok(Err(zk::Error::NoNode)) => Ok(None),
            Ok(Err(e)) => Err(format!("ZooKeeper {}: {e}", self.connect)),
            Ok(Ok((acl, _))) => Ok(Some(create_holders(&acl))),
        }
    }

    /// The live session, a new one when there is none or the old one ended.
    async fn client(&self, deadline: Instant) -> Result<zk::Client, String> {
        let unavailable = || format!("could not reach ZooKeeper {} in time", self.connect);
        let mut guard = tokio::time::timeout_at(deadline, self.client.lock()).await.map_err(|_| unavailable())?;
        if let Some(c) = guard.as_ref() {
            if !matches!(c.state(), zk::SessionState::Expired | zk::SessionState::Closed | zk::SessionState::AuthFailed)
            {
                return Ok(c.clone());
            }
        }
        let connector = zk::Client::connector().with_session_timeout(SESSION_TIMEOUT);
        let c = tokio::time::timeout_at(deadline, self.security.connect(connector, &self.connect))
            .await
            .map_err(|_| unavailable())?
            .map_err(|e| format!("cannot connect to ZooKeeper {}: {e}", self.connect))?;
        *guard = Some(c.clone());
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn holders_are_the_entries_granting_create() {
        let acl = [
            zk::Acl::new(zk::Permission::READ | zk::Permission::WRITE | zk::Permission::ADMIN, zk::AuthId::anyone()),
            zk::Acl::new(zk::Permission::CREATE | zk::Permission::DELETE, zk::AuthId::new("digest", "rm1:abc=")),
            zk::Acl::new(zk::Permission::ALL, zk::AuthId::new("sasl", "yarn")),
        ];
        assert_eq!(create_holders(&acl), set(&["digest:rm1:abc=", "sasl:yarn"]));
        assert_eq!(create_holders(&[]), set(&[]));
    }

    #[test]
    fn a_new_sole_holder_is_a_change_of_hands() {
        assert_eq!(changed_hands(&set(&["digest:rm1:a"]), &set(&["digest:rm2:b"])), Ok(()));
        assert_eq!(changed_hands(&set(&[]), &set(&["digest:rm2:b"])), Ok(()), "a root created by the new active");
        assert_eq!(changed_hands(&set(&[WORLD_ANYONE]), &set(&["digest:rm2:b"])), Ok(()));
    }

    #[test]
    fn no_change_nobody_everyone_or_a_kept_holder_is_not() {
        let rm1 = set(&["digest:rm1:a"]);
        assert!(changed_hands(&rm1, &rm1).unwrap_err().contains("still held by [digest:rm1:a]"));
        assert!(changed_hands(&rm1, &set(&[])).unwrap_err().contains("nobody"));
        assert!(changed_hands(&rm1, &set(&[WORLD_ANYONE])).unwrap_err().contains("world:anyone"));
        assert!(changed_hands(&rm1, &set(&["digest:rm1:a", "digest:rm2:b"])).unwrap_err().contains("rm1"));
        assert!(changed_hands(&set(&[]), &set(&[WORLD_ANYONE, "digest:rm2:b"])).is_err());
    }

    #[test]
    fn the_record_read_is_short() {
        assert_eq!(record_timeout(Duration::from_secs(10)), RECORD_TIMEOUT_MAX);
        assert_eq!(record_timeout(Duration::from_millis(500)), Duration::from_millis(500));
        assert_eq!(record_timeout(Duration::ZERO), RECORD_TIMEOUT_MAX);
    }
}
