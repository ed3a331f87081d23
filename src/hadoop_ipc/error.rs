//! Errors of the IPC layer: transport failures (refused, timed out, broken) kept apart from
//! exceptions the remote side reported, so callers can tell "process gone" from "slow" from
//! "it answered no".
//!
//! Owns: the error vocabulary. Must not: decide what an error means for failover.

use std::time::Duration;

use super::proto::{RpcErrorCode, RpcResponseHeaderProto, RpcStatus};

/// An exception the server sent back, as Hadoop's `RemoteException` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteException {
    /// Fully qualified Java class name, e.g. `org.apache.hadoop.ha.ServiceFailedException`.
    pub class: String,
    /// The first line of the server's error message (the rest is a Java stack trace).
    pub message: String,
    pub detail: Option<RpcErrorCode>,
    /// FATAL responses end the connection.
    pub fatal: bool,
}

impl RemoteException {
    pub fn new(class: &str, message: impl Into<String>) -> Self {
        RemoteException {
            class: class.to_string(),
            message: message.into(),
            detail: Some(RpcErrorCode::ErrorApplication),
            fatal: false,
        }
    }

    pub fn with_detail(mut self, detail: RpcErrorCode) -> Self {
        self.fatal = (detail as i32) >= 10;
        self.detail = Some(detail);
        self
    }

    /// Reads the exception out of an ERROR or FATAL response header.
    pub fn from_header(h: &RpcResponseHeaderProto) -> Self {
        let full = h.error_msg.clone().unwrap_or_default();
        let message = full.lines().next().unwrap_or("").trim().to_string();
        RemoteException {
            class: h.exception_class_name.clone().unwrap_or_default(),
            message,
            detail: h.error_detail.and_then(|d| RpcErrorCode::try_from(d).ok()),
            fatal: h.status == RpcStatus::Fatal as i32,
        }
    }

    /// The class name without its package, for short messages.
    pub fn short_class(&self) -> &str {
        self.class.rsplit(['.', '$']).next().unwrap_or(&self.class)
    }
}

impl std::fmt::Display for RemoteException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

/// Which names errors give the settings an operator can change: the daemon's config keys, or
/// the flags of `rmfc rm-admin` (whose user has no config file to edit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SettingNames {
    #[default]
    ConfigKeys,
    RmAdminFlags,
}

impl SettingNames {
    /// Where the RM's principal is set.
    pub fn rm_principal(self) -> &'static str {
        match self {
            SettingNames::ConfigKeys => "security.rm_principal",
            SettingNames::RmAdminFlags => "--rm-principal",
        }
    }

    /// Where the accepted protections are set.
    pub fn rpc_protection(self) -> &'static str {
        match self {
            SettingNames::ConfigKeys => "security.rpc_protection",
            SettingNames::RmAdminFlags => "--rpc-protection",
        }
    }

    /// How to talk SIMPLE instead of Kerberos.
    pub fn use_simple(self) -> &'static str {
        match self {
            SettingNames::ConfigKeys => "set security.authentication: simple for this cluster",
            SettingNames::RmAdminFlags => "leave out --rm-principal (and --principal, --keytab)",
        }
    }

    /// How to talk Kerberos instead of SIMPLE.
    pub fn use_kerberos(self) -> &'static str {
        match self {
            SettingNames::ConfigKeys => {
                "set security.authentication: kerberos (with security.principal, security.keytab and \
                 security.rm_principal)"
            }
            SettingNames::RmAdminFlags => {
                "give --rm-principal (the RM's principal, e.g. rm/_HOST@EXAMPLE.COM) and either --principal with \
                 --keytab, or a ticket from kinit"
            }
        }
    }
}

/// Where in a call a timeout struck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    Connect,
    /// The SASL (Kerberos) exchange of a new connection.
    Authenticate,
    Call,
}

impl std::fmt::Display for CallPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CallPhase::Connect => "connecting",
            CallPhase::Authenticate => "authenticating with Kerberos",
            CallPhase::Call => "waiting for the answer",
        })
    }
}

/// A failed IPC call.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    /// Nothing listens on the address: the process is gone (or not started).
    #[error("{addr}: connection refused (no process is listening)")]
    ConnectionRefused { addr: String },
    /// No answer within the deadline while connecting or waiting for an answer: the peer is
    /// slow, hung or unreachable.
    #[error("{addr}: no answer after {after:?} while {phase}")]
    Timeout { addr: String, phase: CallPhase, after: Duration },
    /// The deadline passed during the Kerberos exchange of a new connection. The KDC (a ticket
    /// to get or renew) may be the slow one as well as the server, so this is an
    /// authentication failure, not a sign that the server hangs.
    #[error("{addr}: timed out authenticating (KDC or RM) after {after:?}")]
    AuthTimeout { addr: String, after: Duration },
    /// The connection broke (reset, closed mid-call, unroutable), or its security layer could
    /// not protect a message: either way it is closed, and a new one may work.
    #[error("{addr}: {reason}")]
    Broken { addr: String, reason: String },
    /// The server answered with an exception.
    #[error("{addr}: {exception}")]
    Remote { addr: String, exception: RemoteException },
    /// The server's bytes were not valid Hadoop IPC.
    #[error("{addr}: malformed response: {reason}")]
    Protocol { addr: String, reason: String },
    /// Kerberos authentication failed (ours or the server's refusal), before any call.
    #[error("{addr}: Kerberos authentication failed: {reason}")]
    Auth { addr: String, reason: String },
    /// The address could not be resolved or parsed.
    #[error("{addr}: {reason}")]
    BadAddress { addr: String, reason: String },
}
