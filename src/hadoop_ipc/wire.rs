//! Hadoop IPC v9 messages as bytes, both directions, pure functions only: what a client sends
//! (connection context, calls, pings, SASL negotiate) and what a server answers (success, error,
//! fatal). The client and the server are thin I/O loops around these, and the golden and fuzz
//! tests exercise these directly.
//!
//! Owns: which header fields are set for which message. Must not: do I/O or keep state.

use super::error::RemoteException;
use super::frame::{encode_frame, Delimited, WireError};
use super::proto::*;

/// Call id of the connection context (`RpcConstants.CONNECTION_CONTEXT_CALL_ID`).
pub const CONNECTION_CONTEXT_CALL_ID: i32 = -3;
/// Call id of a ping (`RpcConstants.PING_CALL_ID`).
pub const PING_CALL_ID: i32 = -4;
/// Call id of SASL messages (`AuthProtocol.SASL.callId`).
pub const SASL_CALL_ID: i32 = -33;
/// Call id of responses to failures before any call (`AUTHORIZATION_FAILED_CALL_ID`).
pub const AUTHORIZATION_FAILED_CALL_ID: i32 = -1;
/// The version every Hadoop IPC v9 server reports.
pub const SERVER_IPC_VERSION: u32 = 9;

fn request_header(call_id: i32, client_id: &[u8], retry_count: i32) -> RpcRequestHeaderProto {
    RpcRequestHeaderProto {
        rpc_kind: Some(RPC_KIND_PROTOCOL_BUFFER),
        rpc_op: Some(RPC_OP_FINAL_PACKET),
        call_id,
        client_id: client_id.to_vec(),
        retry_count: Some(retry_count),
    }
}

/// The connection context frame (call id -3), sent once right after the preamble (or the SASL
/// exchange). `effective_user` is the SIMPLE user; with Kerberos it is left out.
pub fn connection_context_frame(client_id: &[u8], effective_user: Option<&str>, protocol: &str) -> Vec<u8> {
    let ctx = IpcConnectionContextProto {
        user_info: effective_user
            .map(|u| UserInformationProto { effective_user: Some(u.to_string()), real_user: None }),
        protocol: Some(protocol.to_string()),
    };
    encode_frame(&[&request_header(CONNECTION_CONTEXT_CALL_ID, client_id, -1), &ctx])
}

/// What a call invokes.
#[derive(Debug, Clone, Copy)]
pub struct Method<'a> {
    pub protocol: &'a str,
    pub protocol_version: u64,
    pub name: &'a str,
}

/// One call frame: RPC header, engine header naming the method, then the request message.
pub fn call_frame(
    call_id: i32,
    client_id: &[u8],
    method: Method<'_>,
    request: &dyn super::frame::DynMessage,
) -> Vec<u8> {
    let engine = RequestHeaderProto {
        method_name: method.name.to_string(),
        declaring_class_protocol_name: method.protocol.to_string(),
        client_protocol_version: method.protocol_version,
    };
    encode_frame(&[&request_header(call_id, client_id, 0), &engine, request])
}

/// A keep-alive ping (call id -4): no body, no response.
pub fn ping_frame(client_id: &[u8]) -> Vec<u8> {
    encode_frame(&[&request_header(PING_CALL_ID, client_id, -1)])
}

/// A SASL message from the client (call id -33, empty client id, as `SaslRpcClient` sends it).
pub fn sasl_frame(msg: &RpcSaslProto) -> Vec<u8> {
    encode_frame(&[&request_header(SASL_CALL_ID, &[], -1), msg])
}

/// The first SASL message a client sends.
pub fn sasl_negotiate_frame() -> Vec<u8> {
    sasl_frame(&RpcSaslProto { version: None, state: SaslState::Negotiate as i32, token: None, auths: Vec::new() })
}

fn response_header(call_id: i32, client_id: &[u8], retry_count: i32, status: RpcStatus) -> RpcResponseHeaderProto {
    RpcResponseHeaderProto {
        call_id: call_id as u32,
        status: status as i32,
        server_ipc_version_num: Some(SERVER_IPC_VERSION),
        exception_class_name: None,
        error_msg: None,
        error_detail: None,
        client_id: Some(client_id.to_vec()),
        retry_count: Some(retry_count),
    }
}

/// A SUCCESS response carrying `body`.
pub fn success_frame(call_id: i32, client_id: &[u8], retry_count: i32, body: &dyn super::frame::DynMessage) -> Vec<u8> {
    encode_frame(&[&response_header(call_id, client_id, retry_count, RpcStatus::Success), body])
}

/// An ERROR or FATAL response (no body), as `Server.setupResponse` writes it. FATAL when the
/// exception's detail is a FATAL_* code.
pub fn error_frame(call_id: i32, client_id: &[u8], retry_count: i32, e: &RemoteException) -> Vec<u8> {
    let status = if e.fatal { RpcStatus::Fatal } else { RpcStatus::Error };
    let mut h = response_header(call_id, client_id, retry_count, status);
    h.exception_class_name = Some(e.class.clone());
    h.error_msg = Some(e.message.clone());
    h.error_detail = e.detail.map(|d| d as i32);
    encode_frame(&[&h])
}

/// A decoded response frame: the header and, on SUCCESS, the body message's bytes.
#[derive(Debug)]
pub struct Response<'a> {
    pub header: RpcResponseHeaderProto,
    pub body: Option<&'a [u8]>,
}

impl Response<'_> {
    /// The call id, with the uint32 wire value read back as Java's int.
    pub fn call_id(&self) -> i32 {
        self.header.call_id as i32
    }
}

/// Decodes a response frame body (after its length prefix).
pub fn decode_response(frame: &[u8]) -> Result<Response<'_>, WireError> {
    let mut parts = Delimited::new(frame);
    let header: RpcResponseHeaderProto = parts.decode("response header")?;
    let body = parts.next_message()?;
    Ok(Response { header, body })
}

/// A decoded request frame: the RPC header and the remaining delimited messages.
#[derive(Debug)]
pub struct Request<'a> {
    pub header: RpcRequestHeaderProto,
    pub rest: Delimited<'a>,
}

/// Decodes a request frame body (after its length prefix).
pub fn decode_request(frame: &[u8]) -> Result<Request<'_>, WireError> {
    let mut rest = Delimited::new(frame);
    let header: RpcRequestHeaderProto = rest.decode("request header")?;
    Ok(Request { header, rest })
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
