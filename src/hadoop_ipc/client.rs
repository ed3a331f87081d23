//! A Hadoop IPC v9 client connection to one server address, for one protocol: connects with a
//! timeout, sends the preamble and connection context together with the first call (as Java's
//! `Client` does), numbers calls, enforces a per-call deadline and reconnects on the next call
//! after anything broke the connection.
//!
//! With Kerberos the connection first runs the SASL GSSAPI exchange (`sasl.rs`) and then sends
//! everything, the connection context included, through the negotiated security layer.
//!
//! Owns: one TCP connection and its call ids. Must not: retry calls by itself (a transition is
//! not idempotent from the caller's point of view) or interpret remote exceptions.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::error::{CallPhase, IpcError, RemoteException, SettingNames};
use super::frame::{preamble, read_frame, Delimited, FrameError, AUTH_NONE, AUTH_SASL, DEFAULT_MAX_FRAME};
use super::proto::{RpcResponseHeaderProto, RpcSaslProto, RpcStatus};
use super::sasl::{GssLogin, SaslClient, SaslError, SaslStep, SecureChannel};
use super::wire::{self, Method, AUTHORIZATION_FAILED_CALL_ID, SASL_CALL_ID};
use crate::config::security::resolve_host;
use crate::config::Qop;

/// How a client authenticates (`hadoop.security.authentication`).
#[derive(Clone, Default)]
pub enum ClientAuth {
    /// SIMPLE: the server trusts [`ClientConfig::effective_user`].
    #[default]
    Simple,
    /// SASL GSSAPI.
    Kerberos(KerberosAuth),
}

/// Kerberos settings of a client.
#[derive(Clone)]
pub struct KerberosAuth {
    /// The server's principal as configured (`yarn.resourcemanager.principal`, may hold `_HOST`).
    pub server_principal: String,
    /// Accepted protections, in order of preference (`hadoop.rpc.protection`).
    pub accept: Vec<Qop>,
    pub login: Arc<dyn GssLogin>,
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::Simple => f.write_str("Simple"),
            ClientAuth::Kerberos(k) => f
                .debug_struct("Kerberos")
                .field("server_principal", &k.server_principal)
                .field("accept", &k.accept)
                .field("login", &k.login.describe())
                .finish(),
        }
    }
}

/// How a client connects and whom it claims to be.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The protocol named in the connection context.
    pub protocol: String,
    /// SIMPLE auth: the user the server trusts (checked against `yarn.admin.acl`).
    pub effective_user: String,
    pub auth: ClientAuth,
    pub connect_timeout: Duration,
    /// Responses above this size are refused before allocation.
    pub max_response_len: u32,
    /// How errors name the settings to change (config keys, or `rmfc rm-admin`'s flags).
    pub setting_names: SettingNames,
}

impl ClientConfig {
    pub fn new(protocol: &str) -> Self {
        ClientConfig {
            protocol: protocol.to_string(),
            effective_user: os_user(),
            auth: ClientAuth::Simple,
            connect_timeout: Duration::from_secs(5),
            max_response_len: DEFAULT_MAX_FRAME,
            setting_names: SettingNames::default(),
        }
    }
}

/// The host part of `HOST:PORT` (brackets of an IPv6 literal removed), for `_HOST`.
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// One open connection: the socket and, with Kerberos, its security layer.
struct Conn {
    stream: TcpStream,
    secure: Option<SecureChannel>,
}

/// The OS user running this process, as Hadoop's SIMPLE auth would report it.
pub fn os_user() -> String {
    std::env::var("HADOOP_USER_NAME")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".to_string())
}

/// One server's IPC client. Calls are sequential (`&mut self`).
pub struct IpcClient {
    addr: String,
    cfg: ClientConfig,
    client_id: [u8; 16],
    next_call_id: i32,
    conn: Option<Conn>,
}

impl IpcClient {
    pub fn new(addr: impl Into<String>, cfg: ClientConfig) -> Self {
        IpcClient { addr: addr.into(), cfg, client_id: *uuid::Uuid::new_v4().as_bytes(), next_call_id: 0, conn: None }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// How errors of this client name the operator's settings.
    pub fn setting_names(&self) -> SettingNames {
        self.cfg.setting_names
    }

    /// Authenticates the next connection with `auth` (the current one, if any, is closed).
    pub fn set_auth(&mut self, auth: ClientAuth) {
        self.cfg.auth = auth;
        self.conn = None;
    }

    /// Closes the connection; the next call opens a new one.
    pub fn disconnect(&mut self) {
        self.conn = None;
    }

    /// Invokes `method` with `request` and decodes the answer as `Resp`, all within `timeout`.
    /// Any failure other than an application exception drops the connection.
    pub async fn call<Resp: Message + Default>(
        &mut self,
        method: Method<'_>,
        request: &(impl Message + 'static),
        timeout: Duration,
    ) -> Result<Resp, IpcError> {
        let deadline = Instant::now() + timeout;
        let mut phase = CallPhase::Connect;
        let outcome =
            tokio::time::timeout_at(deadline, self.call_inner(method, request, (deadline, timeout), &mut phase)).await;
        let result = match outcome {
            Ok(r) => r,
            Err(_) if phase == CallPhase::Authenticate => {
                Err(IpcError::AuthTimeout { addr: self.addr.clone(), after: timeout })
            }
            Err(_) => Err(IpcError::Timeout { addr: self.addr.clone(), phase, after: timeout }),
        };
        match &result {
            Ok(_) => {}
            Err(IpcError::Remote { exception, .. }) if !exception.fatal => {}
            Err(_) => self.conn = None,
        }
        result
    }

    async fn call_inner<Resp: Message + Default>(
        &mut self,
        method: Method<'_>,
        request: &(impl Message + 'static),
        (deadline, timeout): (Instant, Duration),
        phase: &mut CallPhase,
    ) -> Result<Resp, IpcError> {
        let mut out = Vec::with_capacity(256);
        if self.conn.is_none() {
            *phase = CallPhase::Connect;
            let connect_deadline = deadline.min(Instant::now() + self.cfg.connect_timeout);
            let stream = match tokio::time::timeout_at(connect_deadline, TcpStream::connect(&self.addr)).await {
                Err(_) => {
                    return Err(IpcError::Timeout {
                        addr: self.addr.clone(),
                        phase: CallPhase::Connect,
                        after: self.cfg.connect_timeout,
                    })
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(IpcError::ConnectionRefused { addr: self.addr.clone() })
                }
                Ok(Err(e)) => {
                    return Err(IpcError::Broken { addr: self.addr.clone(), reason: format!("connect: {e}") })
                }
                Ok(Ok(s)) => s,
            };
            let _ = stream.set_nodelay(true);
            let mut conn = Conn { stream, secure: None };
            match &self.cfg.auth {
                ClientAuth::Simple => {
                    out.extend_from_slice(&preamble(AUTH_NONE));
                    out.extend(wire::connection_context_frame(
                        &self.client_id,
                        Some(&self.cfg.effective_user),
                        &self.cfg.protocol,
                    ));
                }
                ClientAuth::Kerberos(k) => {
                    *phase = CallPhase::Authenticate;
                    let channel = authenticate(
                        &mut conn.stream,
                        &self.addr,
                        k,
                        self.cfg.setting_names,
                        self.cfg.max_response_len,
                        (deadline, timeout),
                    )
                    .await?;
                    // The server takes the user from Kerberos: a name here would be a proxy-user request.
                    out.extend(wire::connection_context_frame(&self.client_id, None, &self.cfg.protocol));
                    conn.secure = Some(channel);
                }
            }
            self.conn = Some(conn);
        }
        *phase = CallPhase::Call;
        let call_id = self.next_call_id;
        self.next_call_id = self.next_call_id.wrapping_add(1) & 0x7FFF_FFFF;
        out.extend(wire::call_frame(call_id, &self.client_id, method, request));

        let addr = self.addr.clone();
        let max = self.cfg.max_response_len;
        let Some(conn) = self.conn.as_mut() else {
            return Err(IpcError::Broken { addr, reason: "not connected".into() });
        };
        if let Some(secure) = conn.secure.as_mut() {
            // Not an authentication failure: the layer is agreed, this message could not be sent.
            out = secure.seal(&out).map_err(|e| IpcError::Broken { addr: addr.clone(), reason: e.to_string() })?;
        }
        let stream = &mut conn.stream;
        if let Err(e) = stream.write_all(&out).await {
            // A server that refuses the connection (e.g. it requires Kerberos) answers FATAL and
            // closes while we are still writing: its answer explains better than a broken pipe.
            // It is read as any answer is, through the security layer: unwrapped, it is refused.
            let last =
                tokio::time::timeout(Duration::from_millis(500), read_answer(stream, conn.secure.as_mut(), &addr, max))
                    .await;
            let reason = format!("write: {e}");
            return Err(match last {
                Ok(Ok(frame)) => match wire::decode_response(&frame) {
                    Ok(resp) if resp.header.status != RpcStatus::Success as i32 => {
                        IpcError::Remote { addr, exception: RemoteException::from_header(&resp.header) }
                    }
                    _ => IpcError::Broken { addr, reason },
                },
                Ok(Err(IpcError::Protocol { reason: refused, .. })) => IpcError::Broken {
                    addr,
                    reason: format!("{reason}; the server's last frame was refused: {refused}"),
                },
                _ => IpcError::Broken { addr, reason },
            });
        }
        let frame = read_answer(stream, conn.secure.as_mut(), &addr, max).await?;
        let resp = wire::decode_response(&frame)
            .map_err(|e| IpcError::Protocol { addr: addr.clone(), reason: e.to_string() })?;
        let id = resp.call_id();
        if id != call_id && id != AUTHORIZATION_FAILED_CALL_ID {
            return Err(IpcError::Protocol {
                addr,
                reason: format!("answer for call {id} while waiting for call {call_id}"),
            });
        }
        if let Some(echo) = resp.header.client_id.as_deref() {
            if !echo.is_empty() && echo != self.client_id {
                return Err(IpcError::Protocol { addr, reason: "server echoed a different client id".into() });
            }
        }
        match RpcStatus::try_from(resp.header.status) {
            Ok(RpcStatus::Success) if id == call_id => {
                let body = resp.body.unwrap_or(&[]);
                Resp::decode(body).map_err(|e| IpcError::Protocol { addr, reason: format!("response body: {e}") })
            }
            Ok(RpcStatus::Success) => Err(IpcError::Protocol { addr, reason: "success answer with call id -1".into() }),
            Ok(_) => Err(IpcError::Remote { addr, exception: RemoteException::from_header(&resp.header) }),
            Err(_) => Err(IpcError::Protocol { addr, reason: format!("unknown status {}", resp.header.status) }),
        }
    }
}

/// One frame from the socket, errors in the IPC vocabulary.
async fn read_plain(stream: &mut TcpStream, addr: &str, max: u32) -> Result<Vec<u8>, IpcError> {
    match read_frame(stream, max).await {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(IpcError::Broken { addr: addr.to_string(), reason: "connection closed by the server".into() }),
        Err(FrameError::Io(e)) => Err(IpcError::Broken { addr: addr.to_string(), reason: format!("read: {e}") }),
        Err(e) => Err(IpcError::Protocol { addr: addr.to_string(), reason: e.to_string() }),
    }
}

/// The answer to the call just sent: one frame, through the security layer when there is one
/// (which refuses anything unwrapped under integrity or privacy, and bytes beyond the answer).
async fn read_answer(
    stream: &mut TcpStream,
    secure: Option<&mut SecureChannel>,
    addr: &str,
    max: u32,
) -> Result<Vec<u8>, IpcError> {
    let Some(secure) = secure else { return read_plain(stream, addr, max).await };
    let refused = |e: SaslError| IpcError::Protocol { addr: addr.to_string(), reason: e.to_string() };
    loop {
        if let Some(frame) = secure.answer(max).map_err(refused)? {
            return Ok(frame);
        }
        let raw = read_plain(stream, addr, max).await?;
        secure.receive(raw).map_err(refused)?;
    }
}

/// Runs the SASL GSSAPI exchange on a fresh connection (preamble included) and returns its
/// security layer, all before `deadline` (`timeout` after the call began). Every failure is an
/// [`IpcError::Auth`] naming who we are and whom we expected.
async fn authenticate(
    stream: &mut TcpStream,
    addr: &str,
    k: &KerberosAuth,
    names: SettingNames,
    max: u32,
    (deadline, timeout): (Instant, Duration),
) -> Result<SecureChannel, IpcError> {
    let expected = resolve_host(&k.server_principal, host_of(addr));
    let auth_err = |e: SaslError| {
        let reason = match e {
            SaslError::Gss(_) => format!("{e} (as {}, to {expected})", k.login.describe()),
            other => other.to_string(),
        };
        IpcError::Auth { addr: addr.to_string(), reason }
    };
    let mut first = preamble(AUTH_SASL).to_vec();
    first.extend(wire::sasl_frame(&SaslClient::negotiate()));
    write(stream, addr, &first).await?;
    let mut sasl = SaslClient::new(&expected, &k.accept, names);
    loop {
        let frame = read_plain(stream, addr, max).await?;
        let protocol = |reason: String| IpcError::Protocol { addr: addr.to_string(), reason };
        let mut parts = Delimited::new(&frame);
        let header: RpcResponseHeaderProto = parts.decode("response header").map_err(|e| protocol(e.to_string()))?;
        if header.status != RpcStatus::Success as i32 {
            let exception = RemoteException::from_header(&header);
            return Err(IpcError::Auth { addr: addr.to_string(), reason: format!("the server refused: {exception}") });
        }
        if header.call_id as i32 != SASL_CALL_ID {
            let id = header.call_id as i32;
            return Err(protocol(format!("answer for call {id} during the Kerberos negotiation")));
        }
        let body = parts.next_message().map_err(|e| protocol(e.to_string()))?;
        if parts.remaining() > 0 {
            // Read by nobody: after SUCCESS they would be plaintext outside the security layer.
            return Err(protocol(format!("{} bytes after the SASL message", parts.remaining())));
        }
        let msg = <RpcSaslProto as prost::Message>::decode(body.unwrap_or(&[]))
            .map_err(|e| protocol(format!("SASL message: {e}")))?;
        let login = k.login.clone();
        let (back, step) = off_the_runtime(addr, (deadline, timeout), move || {
            let step = sasl.on_message(msg, login.as_ref());
            (sasl, step)
        })
        .await?;
        sasl = back;
        match step.map_err(auth_err)? {
            SaslStep::Send(m) => write(stream, addr, &wire::sasl_frame(&m)).await?,
            SaslStep::Established(est) => return Ok(SecureChannel::new(est)),
        }
    }
}

/// Runs one step of the Kerberos exchange (`gss_acquire_cred`, `gss_init_sec_context`, the
/// security-layer choice) on tokio's blocking pool: MIT's library may wait there for the KDC (a
/// service ticket for a new RM, a renewal from the keytab), for as long as its own KDC timeouts
/// allow, and no tokio deadline can interrupt a blocked worker thread. Awaited until `deadline`:
/// a hung KDC becomes [`IpcError::AuthTimeout`] on time and the worker threads stay free; the
/// blocking thread finishes by itself later and its result is dropped with the connection.
///
/// The wraps and unwraps of the established layer (`SecureChannel`) stay on the worker: they
/// are local cryptography with the context's session key, never a KDC round trip.
async fn off_the_runtime<T: Send + 'static>(
    addr: &str,
    (deadline, timeout): (Instant, Duration),
    gss_work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, IpcError> {
    match tokio::time::timeout_at(deadline, tokio::task::spawn_blocking(gss_work)).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(IpcError::Auth { addr: addr.to_string(), reason: format!("the Kerberos step failed: {e}") }),
        Err(_) => Err(IpcError::AuthTimeout { addr: addr.to_string(), after: timeout }),
    }
}

async fn write(stream: &mut TcpStream, addr: &str, bytes: &[u8]) -> Result<(), IpcError> {
    stream
        .write_all(bytes)
        .await
        .map_err(|e| IpcError::Broken { addr: addr.to_string(), reason: format!("write: {e}") })
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
