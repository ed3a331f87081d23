//! `HAServiceProtocol` over Hadoop IPC: the four methods the RM serves on its admin port, with
//! the caller-side error classification (process gone, slow, unhealthy, refused, misconfigured)
//! and the server-side dispatch the simulated RM plugs into.
//!
//! Owns: method names, request sources, state mapping, and turning Hadoop exception classes into
//! typed errors. Must not: decide what to do about an error, or retry.

use std::future::Future;
use std::time::Duration;

use super::client::{ClientAuth, ClientConfig, IpcClient};
use super::error::{IpcError, RemoteException, SettingNames};
use super::proto::*;
use super::server::{CallContext, IpcService};
use super::wire::Method;
use prost::Message;

/// The protocol name on the wire (context and every call).
pub const HA_PROTOCOL: &str = "org.apache.hadoop.ha.HAServiceProtocol";
pub const HA_PROTOCOL_VERSION: u64 = 1;

pub const HEALTH_CHECK_FAILED: &str = "org.apache.hadoop.ha.HealthCheckFailedException";
pub const SERVICE_FAILED: &str = "org.apache.hadoop.ha.ServiceFailedException";
pub const ACCESS_CONTROL: &str = "org.apache.hadoop.security.AccessControlException";
pub const NO_SUCH_METHOD: &str = "org.apache.hadoop.ipc.RpcNoSuchMethodException";

fn method(name: &str) -> Method<'_> {
    Method { protocol: HA_PROTOCOL, protocol_version: HA_PROTOCOL_VERSION, name }
}

/// An RM's HA state, as `getServiceStatus` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HaState {
    Initializing,
    Active,
    Standby,
    Observer,
}

impl HaState {
    fn from_proto(v: i32) -> Option<Self> {
        Some(match HaServiceStateProto::try_from(v).ok()? {
            HaServiceStateProto::Initializing => HaState::Initializing,
            HaServiceStateProto::Active => HaState::Active,
            HaServiceStateProto::Standby => HaState::Standby,
            HaServiceStateProto::Observer => HaState::Observer,
        })
    }
    fn to_proto(self) -> i32 {
        (match self {
            HaState::Initializing => HaServiceStateProto::Initializing,
            HaState::Active => HaServiceStateProto::Active,
            HaState::Standby => HaServiceStateProto::Standby,
            HaState::Observer => HaServiceStateProto::Observer,
        }) as i32
    }
    /// The name YARN's REST API uses (`clusterInfo.haState`).
    pub fn rest_name(self) -> &'static str {
        match self {
            HaState::Initializing => "INITIALIZING",
            HaState::Active => "ACTIVE",
            HaState::Standby => "STANDBY",
            HaState::Observer => "OBSERVER",
        }
    }
}

impl std::fmt::Display for HaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HaState::Initializing => "initializing",
            HaState::Active => "active",
            HaState::Standby => "standby",
            HaState::Observer => "observer",
        })
    }
}

/// The answer of `getServiceStatus`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HaStatus {
    pub state: HaState,
    pub ready_to_become_active: bool,
    pub not_ready_reason: Option<String>,
}

impl HaStatus {
    /// What the RM reports for `state` (`AdminService.getServiceStatus`).
    pub fn of(state: HaState) -> Self {
        let ready = matches!(state, HaState::Active | HaState::Standby);
        HaStatus {
            state,
            ready_to_become_active: ready,
            not_ready_reason: (!ready).then(|| format!("State is {state}")),
        }
    }
}

/// Who asks for a state change; the RM accepts or refuses by its failover mode
/// (`AdminService.checkHaStateChange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum RequestSource {
    /// `REQUEST_BY_USER`: accepted when the RM's automatic failover is disabled (mode A).
    #[default]
    User,
    /// `REQUEST_BY_USER_FORCED`: always accepted.
    Forced,
    /// `REQUEST_BY_ZKFC`: accepted only when automatic failover is enabled (mode B).
    Zkfc,
}

impl RequestSource {
    fn to_proto(self) -> i32 {
        (match self {
            RequestSource::User => HaRequestSourceProto::RequestByUser,
            RequestSource::Forced => HaRequestSourceProto::RequestByUserForced,
            RequestSource::Zkfc => HaRequestSourceProto::RequestByZkfc,
        }) as i32
    }
    fn from_proto(v: i32) -> Option<Self> {
        Some(match HaRequestSourceProto::try_from(v).ok()? {
            HaRequestSourceProto::RequestByUser => RequestSource::User,
            HaRequestSourceProto::RequestByUserForced => RequestSource::Forced,
            HaRequestSourceProto::RequestByZkfc => RequestSource::Zkfc,
        })
    }
    /// Hadoop's name for it.
    pub fn wire_name(self) -> &'static str {
        match self {
            RequestSource::User => "REQUEST_BY_USER",
            RequestSource::Forced => "REQUEST_BY_USER_FORCED",
            RequestSource::Zkfc => "REQUEST_BY_ZKFC",
        }
    }
}

/// A failed HA call, classified so a caller can act on it. Every variant that comes from the RM
/// carries the RM's own message.
#[derive(Debug, thiserror::Error)]
pub enum HaError {
    /// Connection refused: nothing listens on the admin port; the RM process is gone.
    #[error("RM at {addr} is not running (connection refused)")]
    ProcessGone { addr: String },
    /// No answer in time: the RM is slow (GC, a long transition holding its single admin handler)
    /// or hung, or the host is unreachable.
    #[error("RM at {addr} did not answer within {after:?} ({phase})")]
    Timeout { addr: String, phase: super::error::CallPhase, after: Duration },
    /// The connection failed in another way (reset, closed mid-call, malformed bytes).
    #[error("RM at {addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    /// `HealthCheckFailedException`: the RM answers but says it is unhealthy.
    #[error("RM at {addr} is unhealthy: {message}")]
    HealthCheckFailed { addr: String, message: String },
    /// `ServiceFailedException`: a transition failed inside the RM.
    #[error("RM at {addr} failed the transition: {message}")]
    ServiceFailed { addr: String, message: String },
    /// `AccessControlException`: the RM refused us; `hint` says which setting to change.
    #[error("RM at {addr} refused the request: {message}{}", .hint.as_deref().map(|h| format!(" — {h}")).unwrap_or_default())]
    AccessDenied { addr: String, message: String, hint: Option<String> },
    /// The admin port does not serve HAServiceProtocol: HA is not enabled on that RM.
    #[error("RM at {addr} does not serve HAServiceProtocol ({message}) — set yarn.resourcemanager.ha.enabled=true on that RM")]
    HaNotEnabled { addr: String, message: String },
    /// The RM requires Kerberos (SASL) and rmfc spoke SIMPLE.
    #[error("RM at {addr} requires Kerberos: {message} — {}", .names.use_kerberos())]
    KerberosRequired { addr: String, message: String, names: SettingNames },
    /// Kerberos authentication to the RM failed: our login, the RM's principal, the protection,
    /// or the RM's refusal; the reason names which.
    #[error("RM at {addr}: Kerberos authentication failed: {reason}")]
    AuthFailed { addr: String, reason: String },
    /// The Kerberos exchange of a new connection did not finish in time: the KDC or the RM is
    /// slow, rmfc cannot tell which (so it is not counted as the RM hanging).
    #[error("RM at {addr}: timed out authenticating (KDC or RM) after {after:?}")]
    AuthTimeout { addr: String, after: Duration },
    /// Any other exception the RM sent.
    #[error("RM at {addr}: {exception}")]
    Remote { addr: String, exception: RemoteException },
}

/// The remedy for an `AccessControlException`, by the message the RM sent
/// (`AdminService.checkHaStateChange`, `RMServerUtils.verifyAdminAccess`).
pub fn access_denied_hint(message: &str) -> Option<String> {
    if message.contains("automatic failover is enabled") {
        Some("the RM runs with yarn.resourcemanager.ha.automatic-failover.enabled=true: set transition.request_source to `zkfc` (mode B, with automatic-failover.embedded=false and curator-leader-elector.enabled=true) or `forced`, or set automatic-failover.enabled=false on the RM (mode A, the default rmfc expects)".into())
    } else if message.contains("automatic failover is not enabled") {
        Some("the RM runs with yarn.resourcemanager.ha.automatic-failover.enabled=false (mode A): set transition.request_source to `user` (or `forced`)".into())
    } else if message.contains("doesn't have permission") {
        Some("add rmfc's user to yarn.admin.acl on the RM, or run rmfc as a user that is in it".into())
    } else {
        None
    }
}

impl HaError {
    fn from_ipc(e: IpcError, names: SettingNames) -> Self {
        match e {
            IpcError::ConnectionRefused { addr } => HaError::ProcessGone { addr },
            IpcError::Timeout { addr, phase, after } => HaError::Timeout { addr, phase, after },
            IpcError::Broken { addr, reason }
            | IpcError::Protocol { addr, reason }
            | IpcError::BadAddress { addr, reason } => HaError::Unreachable { addr, reason },
            IpcError::Remote { addr, exception } => Self::from_remote(addr, exception, names),
            IpcError::Auth { addr, reason } => HaError::AuthFailed { addr, reason },
            IpcError::AuthTimeout { addr, after } => HaError::AuthTimeout { addr, after },
        }
    }

    fn from_remote(addr: String, exception: RemoteException, names: SettingNames) -> Self {
        let message = exception.message.clone();
        if exception.detail == Some(RpcErrorCode::FatalUnauthorized)
            && (message.contains("KERBEROS") || message.contains("SIMPLE authentication is not enabled"))
        {
            return HaError::KerberosRequired { addr, message, names };
        }
        if exception.detail == Some(RpcErrorCode::ErrorNoSuchProtocol) {
            return HaError::HaNotEnabled { addr, message };
        }
        match exception.class.as_str() {
            HEALTH_CHECK_FAILED => HaError::HealthCheckFailed { addr, message },
            SERVICE_FAILED => HaError::ServiceFailed { addr, message },
            ACCESS_CONTROL => HaError::AccessDenied { addr, hint: access_denied_hint(&message), message },
            _ => HaError::Remote { addr, exception },
        }
    }
}

/// A client of one RM's `HAServiceProtocol`.
pub struct HaClient {
    ipc: IpcClient,
    source: RequestSource,
}

impl HaClient {
    pub fn new(addr: impl Into<String>, effective_user: Option<String>, source: RequestSource) -> Self {
        let mut cfg = ClientConfig::new(HA_PROTOCOL);
        if let Some(u) = effective_user {
            cfg.effective_user = u;
        }
        HaClient { ipc: IpcClient::new(addr, cfg), source }
    }

    /// As [`HaClient::new`], authenticating with `auth` (SIMPLE sends `effective_user`).
    pub fn with_auth(
        addr: impl Into<String>,
        effective_user: Option<String>,
        auth: ClientAuth,
        source: RequestSource,
    ) -> Self {
        let mut client = HaClient::new(addr, effective_user, source);
        client.ipc.set_auth(auth);
        client
    }

    pub fn with_config(addr: impl Into<String>, cfg: ClientConfig, source: RequestSource) -> Self {
        HaClient { ipc: IpcClient::new(addr, cfg), source }
    }

    pub fn addr(&self) -> &str {
        self.ipc.addr()
    }

    pub fn disconnect(&mut self) {
        self.ipc.disconnect();
    }

    pub async fn get_service_status(&mut self, timeout: Duration) -> Result<HaStatus, HaError> {
        let names = self.ipc.setting_names();
        let resp: GetServiceStatusResponseProto = self
            .ipc
            .call(method("getServiceStatus"), &EmptyProto {}, timeout)
            .await
            .map_err(|e| HaError::from_ipc(e, names))?;
        let state = HaState::from_proto(resp.state).ok_or_else(|| HaError::Unreachable {
            addr: self.ipc.addr().to_string(),
            reason: format!("unknown HA state {}", resp.state),
        })?;
        Ok(HaStatus {
            state,
            ready_to_become_active: resp.ready_to_become_active.unwrap_or(false),
            not_ready_reason: resp.not_ready_reason,
        })
    }

    pub async fn monitor_health(&mut self, timeout: Duration) -> Result<(), HaError> {
        let names = self.ipc.setting_names();
        let _: EmptyProto = self
            .ipc
            .call(method("monitorHealth"), &EmptyProto {}, timeout)
            .await
            .map_err(|e| HaError::from_ipc(e, names))?;
        Ok(())
    }

    pub async fn transition_to_active(&mut self, timeout: Duration) -> Result<(), HaError> {
        self.transition("transitionToActive", timeout).await
    }

    pub async fn transition_to_standby(&mut self, timeout: Duration) -> Result<(), HaError> {
        self.transition("transitionToStandby", timeout).await
    }

    async fn transition(&mut self, name: &str, timeout: Duration) -> Result<(), HaError> {
        let req =
            TransitionRequestProto { req_info: HaStateChangeRequestInfoProto { req_source: self.source.to_proto() } };
        let names = self.ipc.setting_names();
        let _: EmptyProto =
            self.ipc.call(method(name), &req, timeout).await.map_err(|e| HaError::from_ipc(e, names))?;
        Ok(())
    }
}

/// What a server must implement to serve `HAServiceProtocol`; errors are the Java exceptions
/// the RM would throw.
pub trait HaService: Send + Sync + 'static {
    fn get_service_status(&self, ctx: &CallContext) -> impl Future<Output = Result<HaStatus, RemoteException>> + Send;
    fn monitor_health(&self, ctx: &CallContext) -> impl Future<Output = Result<(), RemoteException>> + Send;
    fn transition_to_active(
        &self,
        ctx: &CallContext,
        source: RequestSource,
    ) -> impl Future<Output = Result<(), RemoteException>> + Send;
    fn transition_to_standby(
        &self,
        ctx: &CallContext,
        source: RequestSource,
    ) -> impl Future<Output = Result<(), RemoteException>> + Send;
}

/// Adapts an [`HaService`] to the IPC server: decodes requests, encodes answers.
pub struct HaServer<S>(pub S);

fn bad_request(e: impl std::fmt::Display) -> RemoteException {
    RemoteException::new("org.apache.hadoop.ipc.RpcServerException", format!("Error decoding request: {e}"))
        .with_detail(RpcErrorCode::FatalDeserializingRequest)
}

fn decode_source(request: &[u8]) -> Result<RequestSource, RemoteException> {
    let req = TransitionRequestProto::decode(request).map_err(bad_request)?;
    RequestSource::from_proto(req.req_info.req_source).ok_or_else(|| bad_request("unknown request source"))
}

impl<S: HaService> IpcService for HaServer<S> {
    fn protocol(&self) -> (&str, u64) {
        (HA_PROTOCOL, HA_PROTOCOL_VERSION)
    }

    async fn call(&self, ctx: CallContext, method: String, request: Vec<u8>) -> Result<Vec<u8>, RemoteException> {
        let empty = EmptyProto {}.encode_to_vec();
        match method.as_str() {
            "getServiceStatus" => {
                EmptyProto::decode(&request[..]).map_err(bad_request)?;
                let s = self.0.get_service_status(&ctx).await?;
                Ok(GetServiceStatusResponseProto {
                    state: s.state.to_proto(),
                    ready_to_become_active: Some(s.ready_to_become_active),
                    not_ready_reason: s.not_ready_reason,
                }
                .encode_to_vec())
            }
            "monitorHealth" => {
                EmptyProto::decode(&request[..]).map_err(bad_request)?;
                self.0.monitor_health(&ctx).await.map(|_| empty)
            }
            "transitionToActive" => {
                let source = decode_source(&request)?;
                self.0.transition_to_active(&ctx, source).await.map(|_| empty)
            }
            "transitionToStandby" => {
                let source = decode_source(&request)?;
                self.0.transition_to_standby(&ctx, source).await.map(|_| empty)
            }
            "transitionToObserver" => {
                Err(RemoteException::new(SERVICE_FAILED, "Does not support transition to Observer"))
            }
            other => Err(RemoteException::new(
                NO_SUCH_METHOD,
                format!("Unknown method {other} called on {HA_PROTOCOL} protocol."),
            )
            .with_detail(RpcErrorCode::ErrorNoSuchMethod)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requires_kerberos() -> RemoteException {
        RemoteException::new(ACCESS_CONTROL, "SIMPLE authentication is not enabled.  Available:[TOKEN, KERBEROS]")
            .with_detail(RpcErrorCode::FatalUnauthorized)
    }

    #[test]
    fn a_server_requiring_kerberos_is_told_apart_and_the_remedy_named_by_where_it_is_set() {
        let cases = [
            (SettingNames::ConfigKeys, "set security.authentication: kerberos"),
            (SettingNames::RmAdminFlags, "give --rm-principal"),
        ];
        for (names, remedy) in cases {
            let e =
                HaError::from_ipc(IpcError::Remote { addr: "rm1:8033".into(), exception: requires_kerberos() }, names);
            assert!(matches!(e, HaError::KerberosRequired { .. }), "{e:?}");
            let text = e.to_string();
            assert!(text.contains("SIMPLE authentication is not enabled") && text.contains(remedy), "{text}");
        }
        let flags = HaError::from_ipc(
            IpcError::Remote { addr: "rm1:8033".into(), exception: requires_kerberos() },
            SettingNames::RmAdminFlags,
        );
        assert!(
            !flags.to_string().contains("security.authentication"),
            "no config keys for a command-line user: {flags}"
        );
    }

    #[test]
    fn kerberos_failures_and_timeouts_keep_their_own_kinds() {
        let e = HaError::from_ipc(IpcError::Auth { addr: "a:1".into(), reason: "r".into() }, SettingNames::ConfigKeys);
        assert!(matches!(e, HaError::AuthFailed { .. }), "{e:?}");
        let e = HaError::from_ipc(
            IpcError::AuthTimeout { addr: "a:1".into(), after: Duration::from_secs(2) },
            SettingNames::ConfigKeys,
        );
        assert!(matches!(e, HaError::AuthTimeout { .. }), "{e:?}");
        assert!(e.to_string().contains("timed out authenticating (KDC or RM) after 2s"), "{e}");
    }
}
