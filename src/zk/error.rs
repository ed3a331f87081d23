//! The adapter's error vocabulary, and the one way it calls ZooKeeper: every call is time-boxed
//! (calls made while disconnected wait for a reconnect, possibly forever) and its failure says
//! what was being done.
//!
//! Owns: `ZkError`, `call`, and the classification the core needs (was the outcome uncertain?
//! did a node simply not exist?). Must not: decide what a failure means for leadership.

use std::future::Future;
use std::time::Duration;

use zookeeper_client as zk;

/// Why a ZooKeeper operation of the adapter did not produce its result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZkError {
    /// No usable session (not connected yet, superseded by a newer generation, or expired).
    #[error("no ZooKeeper session: {0}")]
    NoSession(String),
    /// No answer within the operation timeout. The request may still be applied later.
    #[error("{what}: no answer from ZooKeeper within {after:?}")]
    Timeout { what: String, after: Duration },
    /// ZooKeeper answered with an error (or the connection broke).
    #[error("{what}: {source}")]
    Zk { what: String, source: zk::Error },
    /// A znode holds data that does not decode.
    #[error("{0}")]
    Corrupt(String),
}

impl ZkError {
    pub fn zk(what: impl Into<String>, source: zk::Error) -> Self {
        ZkError::Zk { what: what.into(), source }
    }

    /// The request may or may not have been applied: no answer in time, or the connection
    /// broke first (the client then fails pending requests with `ConnectionLoss` or with an
    /// I/O or "no response" error). Only a refusal the server sent back is certain.
    pub fn is_uncertain(&self) -> bool {
        use zk::Error::*;
        match self {
            ZkError::Timeout { .. } => true,
            ZkError::Zk { source, .. } => !matches!(
                source,
                NoNode
                    | NoAuth
                    | BadVersion
                    | NoChildrenForEphemerals
                    | NodeExists
                    | NotEmpty
                    | InvalidAcl
                    | BadArguments(_)
                    | Unimplemented
                    | QuotaExceeded
                    | Throttled
                    | NotReadOnly
                    | NoWatcher
                    | ReconfigDisabled
                    | RuntimeInconsistent
            ),
            ZkError::NoSession(_) | ZkError::Corrupt(_) => false,
        }
    }

    /// Worth trying again soon on the same session (as opposed to a refusal such as NoAuth).
    pub fn is_transient(&self) -> bool {
        self.is_uncertain() || matches!(self, ZkError::NoSession(_) | ZkError::Zk { source: zk::Error::Throttled, .. })
    }

    pub fn is_no_node(&self) -> bool {
        matches!(self, ZkError::Zk { source: zk::Error::NoNode, .. })
    }
}

/// Runs one ZooKeeper call with a deadline.
pub async fn call<T>(
    timeout: Duration,
    what: impl Into<String>,
    fut: impl Future<Output = Result<T, zk::Error>>,
) -> Result<T, ZkError> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(ZkError::Zk { what: what.into(), source }),
        Err(_) => Err(ZkError::Timeout { what: what.into(), after: timeout }),
    }
}

/// Like [`call`], but a missing node is `Ok(None)`.
pub async fn call_opt<T>(
    timeout: Duration,
    what: impl Into<String>,
    fut: impl Future<Output = Result<T, zk::Error>>,
) -> Result<Option<T>, ZkError> {
    match call(timeout, what, fut).await {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_no_node() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let t = ZkError::Timeout { what: "get".into(), after: Duration::from_secs(1) };
        assert!(t.is_uncertain() && t.is_transient());
        let loss = ZkError::zk("create", zk::Error::ConnectionLoss);
        assert!(loss.is_uncertain());
        let broken = ZkError::zk("create", zk::Error::UnexpectedError("no response from connection".into()));
        assert!(broken.is_uncertain() && broken.is_transient());
        let denied = ZkError::zk("create", zk::Error::NoAuth);
        assert!(!denied.is_uncertain() && !denied.is_transient());
        assert!(ZkError::zk("get", zk::Error::NoNode).is_no_node());
        assert_eq!(denied.to_string(), "create: not authorized");
    }

    #[tokio::test]
    async fn calls_are_time_boxed() {
        let never = std::future::pending::<Result<(), zk::Error>>();
        let e = call(Duration::from_millis(10), "stuck", never).await.unwrap_err();
        assert!(matches!(e, ZkError::Timeout { .. }), "{e}");
        let missing = async { Err::<(), _>(zk::Error::NoNode) };
        assert_eq!(call_opt(Duration::from_secs(1), "get", missing).await, Ok(None));
    }
}
