//! The server side of Hadoop IPC v9, for the simulated RM: a per-connection state machine that
//! turns frames into calls (pure, fuzzed), and an accept loop that runs it over TCP.
//!
//! Malformed input gets the answer Hadoop's `Server` would give (a FATAL response, or a plain
//! close) and never a panic; frames above the limit are refused before any allocation.
//!
//! Owns: connection handshake rules and dispatch to one [`IpcService`]. Must not: know any
//! protocol's methods (that is the service's job) or share state between connections.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::error::RemoteException;
use super::frame::{parse_preamble, read_frame, DynMessage, Preamble, AUTH_NONE, AUTH_SASL, DEFAULT_MAX_FRAME};
use super::proto::*;
use super::wire::{self, AUTHORIZATION_FAILED_CALL_ID, CONNECTION_CONTEXT_CALL_ID, PING_CALL_ID, SASL_CALL_ID};

const FATAL_SERVER_EXCEPTION: &str = "org.apache.hadoop.ipc.Server$FatalRpcServerException";

/// Who is calling, as far as the connection tells.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub peer: SocketAddr,
    pub effective_user: Option<String>,
}

/// One protocol served over IPC.
pub trait IpcService: Send + Sync + 'static {
    /// The protocol name and version calls must declare.
    fn protocol(&self) -> (&str, u64);
    /// Runs `method` on the encoded `request`; returns the encoded response message.
    fn call(
        &self,
        ctx: CallContext,
        method: String,
        request: Vec<u8>,
    ) -> impl Future<Output = Result<Vec<u8>, RemoteException>> + Send;
}

/// An already-encoded message, written length-delimited as is.
struct Encoded<'a>(&'a [u8]);

impl DynMessage for Encoded<'_> {
    fn delimited_len(&self) -> usize {
        prost::length_delimiter_len(self.0.len()) + self.0.len()
    }
    fn write_delimited(&self, out: &mut Vec<u8>) {
        let _ = prost::encode_length_delimiter(self.0.len(), out);
        out.extend_from_slice(self.0);
    }
}

/// What the server must do with one inbound frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Dispatch a call.
    Call(IncomingCall),
    /// Send these bytes; close the connection afterwards when `close`.
    Reply { bytes: Vec<u8>, close: bool },
    /// Nothing to answer (connection context, ping).
    Nothing,
}

#[derive(Debug, PartialEq, Eq)]
pub struct IncomingCall {
    pub call_id: i32,
    pub client_id: Vec<u8>,
    pub retry_count: i32,
    pub protocol: String,
    pub protocol_version: u64,
    pub method: String,
    pub request: Vec<u8>,
}

impl IncomingCall {
    pub fn success(&self, body: &[u8]) -> Vec<u8> {
        wire::success_frame(self.call_id, &self.client_id, self.retry_count, &Encoded(body))
    }
    pub fn error(&self, e: &RemoteException) -> Vec<u8> {
        wire::error_frame(self.call_id, &self.client_id, self.retry_count, e)
    }
}

/// Handshake state of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConn {
    /// The client announced SASL and has not finished negotiating yet.
    sasl_pending: bool,
    /// The connection context arrived; calls are allowed.
    pub effective_user: Option<String>,
    context_read: bool,
}

fn fatal(call_id: i32, client_id: &[u8], code: RpcErrorCode, class: &str, msg: impl Into<String>) -> Inbound {
    let e = RemoteException::new(class, msg).with_detail(code);
    Inbound::Reply { bytes: wire::error_frame(call_id, client_id, -1, &e), close: true }
}

impl ServerConn {
    /// Checks the 7-byte preamble. `Err` carries what to send (possibly nothing) before closing.
    pub fn accept(preamble: &[u8; 7]) -> Result<Self, Vec<u8>> {
        match parse_preamble(preamble) {
            Preamble::Ok { auth: AUTH_NONE } => Ok(ServerConn { sasl_pending: false, effective_user: None, context_read: false }),
            Preamble::Ok { auth: AUTH_SASL } => Ok(ServerConn { sasl_pending: true, effective_user: None, context_read: false }),
            Preamble::Ok { auth } => Err(reply_bytes(fatal(
                AUTHORIZATION_FAILED_CALL_ID,
                &[],
                RpcErrorCode::FatalUnauthorized,
                "org.apache.hadoop.ipc.IpcException",
                format!("Unknown auth protocol:{}", auth as i8),
            ))),
            Preamble::Http => Err(b"HTTP/1.1 404 Not Found\r\nContent-type: text/plain\r\n\r\nIt looks like you are making an HTTP request to a Hadoop IPC port. This is not the correct port for the web interface on this daemon.\r\n".to_vec()),
            Preamble::WrongVersion(v) => Err(reply_bytes(fatal(
                AUTHORIZATION_FAILED_CALL_ID,
                &[],
                RpcErrorCode::FatalVersionMismatch,
                "org.apache.hadoop.ipc.RPC$VersionMismatch",
                format!("Server IPC version 9 cannot communicate with client version {v}"),
            ))),
            Preamble::BadMagic => Err(Vec::new()),
        }
    }

    /// Processes one frame body.
    pub fn on_frame(&mut self, frame: &[u8]) -> Inbound {
        let Ok(mut req) = wire::decode_request(frame) else {
            return fatal(
                AUTHORIZATION_FAILED_CALL_ID,
                &[],
                RpcErrorCode::FatalDeserializingRequest,
                FATAL_SERVER_EXCEPTION,
                "Error deserializing the RPC request header",
            );
        };
        let h = &req.header;
        let (id, cid) = (h.call_id, h.client_id.clone());
        if h.rpc_op != Some(RPC_OP_FINAL_PACKET) {
            let msg = if h.rpc_op.is_none() {
                "IPC Server: No rpc op in rpcRequestHeader"
            } else {
                "IPC Server does not implement rpc header operation"
            };
            return fatal(id, &cid, RpcErrorCode::FatalInvalidRpcHeader, FATAL_SERVER_EXCEPTION, msg);
        }
        let Some(kind) = h.rpc_kind else {
            return fatal(
                id,
                &cid,
                RpcErrorCode::FatalInvalidRpcHeader,
                FATAL_SERVER_EXCEPTION,
                "IPC Server: No rpc kind in rpcRequestHeader",
            );
        };
        if id < 0 {
            return self.out_of_band(id, &cid, &mut req.rest);
        }
        if self.sasl_pending || !self.context_read {
            return fatal(
                id,
                &cid,
                RpcErrorCode::FatalInvalidRpcHeader,
                FATAL_SERVER_EXCEPTION,
                "Connection context not established",
            );
        }
        if kind != RPC_KIND_PROTOCOL_BUFFER {
            return fatal(
                id,
                &cid,
                RpcErrorCode::FatalInvalidRpcHeader,
                FATAL_SERVER_EXCEPTION,
                format!("Unknown rpc kind {kind}"),
            );
        }
        let engine: RequestHeaderProto = match req.rest.decode("method header") {
            Ok(e) => e,
            Err(e) => {
                return fatal(
                    id,
                    &cid,
                    RpcErrorCode::FatalDeserializingRequest,
                    FATAL_SERVER_EXCEPTION,
                    format!("Error deserializing call: {e}"),
                )
            }
        };
        let request = match req.rest.next_message() {
            Ok(Some(b)) => b.to_vec(),
            _ => {
                return fatal(
                    id,
                    &cid,
                    RpcErrorCode::FatalDeserializingRequest,
                    FATAL_SERVER_EXCEPTION,
                    "Missing or malformed request message",
                )
            }
        };
        Inbound::Call(IncomingCall {
            call_id: id,
            client_id: cid,
            retry_count: h.retry_count.unwrap_or(-1),
            protocol: engine.declaring_class_protocol_name,
            protocol_version: engine.client_protocol_version,
            method: engine.method_name,
            request,
        })
    }

    fn out_of_band(&mut self, id: i32, cid: &[u8], rest: &mut super::frame::Delimited<'_>) -> Inbound {
        match id {
            CONNECTION_CONTEXT_CALL_ID => {
                if self.sasl_pending {
                    return fatal(
                        id,
                        cid,
                        RpcErrorCode::FatalInvalidRpcHeader,
                        FATAL_SERVER_EXCEPTION,
                        "Connection header sent during SASL negotiation",
                    );
                }
                if self.context_read {
                    return fatal(
                        id,
                        cid,
                        RpcErrorCode::FatalInvalidRpcHeader,
                        FATAL_SERVER_EXCEPTION,
                        "Connection context already processed",
                    );
                }
                match rest.decode::<IpcConnectionContextProto>("connection context") {
                    Ok(ctx) => {
                        self.context_read = true;
                        self.effective_user = ctx.user_info.and_then(|u| u.effective_user);
                        Inbound::Nothing
                    }
                    Err(e) => fatal(
                        id,
                        cid,
                        RpcErrorCode::FatalDeserializingRequest,
                        FATAL_SERVER_EXCEPTION,
                        format!("Error deserializing connection context: {e}"),
                    ),
                }
            }
            PING_CALL_ID => Inbound::Nothing,
            SASL_CALL_ID if self.sasl_pending => match rest.decode::<RpcSaslProto>("SASL message") {
                // A SIMPLE-only server answers NEGOTIATE with SUCCESS: the client falls back to
                // simple auth (Server.buildNegotiateResponse).
                Ok(m) if m.state == SaslState::Negotiate as i32 => {
                    self.sasl_pending = false;
                    let ok = RpcSaslProto {
                        version: None,
                        state: SaslState::Success as i32,
                        token: None,
                        auths: Vec::new(),
                    };
                    Inbound::Reply { bytes: wire::success_frame(SASL_CALL_ID, &[], -1, &ok), close: false }
                }
                Ok(_) => fatal(
                    id,
                    cid,
                    RpcErrorCode::FatalUnauthorized,
                    "org.apache.hadoop.security.AccessControlException",
                    "SASL authentication is not enabled on this server",
                ),
                Err(e) => fatal(
                    id,
                    cid,
                    RpcErrorCode::FatalDeserializingRequest,
                    FATAL_SERVER_EXCEPTION,
                    format!("Error deserializing SASL message: {e}"),
                ),
            },
            SASL_CALL_ID => fatal(
                id,
                cid,
                RpcErrorCode::FatalInvalidRpcHeader,
                FATAL_SERVER_EXCEPTION,
                "SASL protocol not requested by client",
            ),
            _ => fatal(
                id,
                cid,
                RpcErrorCode::FatalInvalidRpcHeader,
                FATAL_SERVER_EXCEPTION,
                format!("Unknown out of band call #{id}"),
            ),
        }
    }
}

fn reply_bytes(i: Inbound) -> Vec<u8> {
    match i {
        Inbound::Reply { bytes, .. } => bytes,
        _ => Vec::new(),
    }
}

/// Serves `service` on `listener` until the listener fails; one task per connection.
pub async fn serve<S: IpcService>(listener: TcpListener, service: Arc<S>) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let service = service.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_connection(stream, peer, &*service).await {
                tracing::debug!(%peer, error = %e, "IPC connection ended");
            }
        });
    }
}

async fn serve_connection<S: IpcService>(mut stream: TcpStream, peer: SocketAddr, service: &S) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut pre = [0u8; 7];
    // A client that connects and says nothing holds no resources for long.
    match tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut pre)).await {
        Ok(r) => {
            r?;
        }
        Err(_) => return Ok(()),
    }
    let mut conn = match ServerConn::accept(&pre) {
        Ok(c) => c,
        Err(reply) => {
            stream.write_all(&reply).await?;
            return stream.shutdown().await;
        }
    };
    loop {
        let frame = match read_frame(&mut stream, DEFAULT_MAX_FRAME).await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(e) => {
                tracing::debug!(%peer, error = %e, "closing IPC connection on a bad frame");
                return Ok(());
            }
        };
        match conn.on_frame(&frame) {
            Inbound::Nothing => {}
            Inbound::Reply { bytes, close } => {
                stream.write_all(&bytes).await?;
                if close {
                    return stream.shutdown().await;
                }
            }
            Inbound::Call(call) => {
                let (proto, version) = service.protocol();
                let reply = if call.protocol != proto || call.protocol_version != version {
                    call.error(
                        &RemoteException::new(
                            "org.apache.hadoop.ipc.RpcNoSuchProtocolException",
                            format!("Unknown protocol: {}", call.protocol),
                        )
                        .with_detail(RpcErrorCode::ErrorNoSuchProtocol),
                    )
                } else {
                    let ctx = CallContext { peer, effective_user: conn.effective_user.clone() };
                    match service.call(ctx, call.method.clone(), call.request.clone()).await {
                        Ok(body) => call.success(&body),
                        Err(e) => {
                            let close = e.fatal;
                            let bytes = call.error(&e);
                            if close {
                                stream.write_all(&bytes).await?;
                                return stream.shutdown().await;
                            }
                            bytes
                        }
                    }
                };
                stream.write_all(&reply).await?;
            }
        }
    }
}

/// Encodes a response message for [`IpcService::call`].
pub fn encode<M: Message>(m: &M) -> Vec<u8> {
    m.encode_to_vec()
}
