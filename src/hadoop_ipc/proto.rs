//! The protobuf messages of Hadoop IPC v9 and `HAServiceProtocol`, written by hand with prost's
//! derive (no protoc, no build.rs). Field numbers and labels are Hadoop's own (`RpcHeader.proto`,
//! `IpcConnectionContext.proto`, `ProtobufRpcEngine2.proto`, `HAServiceProtocol.proto`): proto2
//! `required` fields are always written, even when they hold a default value, as Java writes them.
//!
//! Owns: message layouts only. Must not: frame, do I/O, or interpret errors.

/// `RpcKindProto.RPC_PROTOCOL_BUFFER`.
pub const RPC_KIND_PROTOCOL_BUFFER: i32 = 2;
/// `OperationProto.RPC_FINAL_PACKET`.
pub const RPC_OP_FINAL_PACKET: i32 = 0;

#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcRequestHeaderProto {
    #[prost(int32, optional, tag = "1")]
    pub rpc_kind: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub rpc_op: Option<i32>,
    /// ZigZag-encoded on the request side (`sint32`); the response side uses `uint32`.
    #[prost(sint32, required, tag = "3")]
    pub call_id: i32,
    #[prost(bytes = "vec", required, tag = "4")]
    pub client_id: Vec<u8>,
    #[prost(sint32, optional, tag = "5")]
    pub retry_count: Option<i32>,
}

/// `RpcResponseHeaderProto.RpcStatusProto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum RpcStatus {
    Success = 0,
    Error = 1,
    Fatal = 2,
}

/// `RpcResponseHeaderProto.RpcErrorCodeProto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum RpcErrorCode {
    ErrorApplication = 1,
    ErrorNoSuchMethod = 2,
    ErrorNoSuchProtocol = 3,
    ErrorRpcServer = 4,
    ErrorSerializingResponse = 5,
    ErrorRpcVersionMismatch = 6,
    FatalUnknown = 10,
    FatalUnsupportedSerialization = 11,
    FatalInvalidRpcHeader = 12,
    FatalDeserializingRequest = 13,
    FatalVersionMismatch = 14,
    FatalUnauthorized = 15,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcResponseHeaderProto {
    /// `uint32` on the wire: call id -1 arrives as 0xFFFFFFFF. Cast to i32 after decoding.
    #[prost(uint32, required, tag = "1")]
    pub call_id: u32,
    #[prost(enumeration = "RpcStatus", required, tag = "2")]
    pub status: i32,
    #[prost(uint32, optional, tag = "3")]
    pub server_ipc_version_num: Option<u32>,
    #[prost(string, optional, tag = "4")]
    pub exception_class_name: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub error_msg: Option<String>,
    #[prost(enumeration = "RpcErrorCode", optional, tag = "6")]
    pub error_detail: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "7")]
    pub client_id: Option<Vec<u8>>,
    #[prost(sint32, optional, tag = "8")]
    pub retry_count: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct UserInformationProto {
    #[prost(string, optional, tag = "1")]
    pub effective_user: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub real_user: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct IpcConnectionContextProto {
    #[prost(message, optional, tag = "2")]
    pub user_info: Option<UserInformationProto>,
    #[prost(string, optional, tag = "3")]
    pub protocol: Option<String>,
}

/// `ProtobufRpcEngine2.RequestHeaderProto`: which method of which protocol a call invokes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestHeaderProto {
    #[prost(string, required, tag = "1")]
    pub method_name: String,
    #[prost(string, required, tag = "2")]
    pub declaring_class_protocol_name: String,
    #[prost(uint64, required, tag = "3")]
    pub client_protocol_version: u64,
}

/// `RpcSaslProto.SaslState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum SaslState {
    Success = 0,
    Negotiate = 1,
    Initiate = 2,
    Challenge = 3,
    Response = 4,
    Wrap = 5,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcSaslProto {
    #[prost(uint32, optional, tag = "1")]
    pub version: Option<u32>,
    #[prost(enumeration = "SaslState", required, tag = "2")]
    pub state: i32,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub token: Option<Vec<u8>>,
    #[prost(message, repeated, tag = "4")]
    pub auths: Vec<SaslAuth>,
}

/// `RpcSaslProto.SaslAuth`: one authentication method a server offers (or the one a client
/// picks). For KERBEROS, `protocol`/`server_id` are the server principal's service and host.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SaslAuth {
    #[prost(string, required, tag = "1")]
    pub method: String,
    #[prost(string, required, tag = "2")]
    pub mechanism: String,
    #[prost(string, optional, tag = "3")]
    pub protocol: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub server_id: Option<String>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub challenge: Option<Vec<u8>>,
}

/// `HAServiceStateProto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum HaServiceStateProto {
    Initializing = 0,
    Active = 1,
    Standby = 2,
    Observer = 3,
}

/// `HARequestSource`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum HaRequestSourceProto {
    RequestByUser = 0,
    RequestByUserForced = 1,
    RequestByZkfc = 2,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct HaStateChangeRequestInfoProto {
    #[prost(enumeration = "HaRequestSourceProto", required, tag = "1")]
    pub req_source: i32,
}

/// Every request and response of HAServiceProtocol that carries no field.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EmptyProto {}

/// `TransitionToActiveRequestProto` and `TransitionToStandbyRequestProto` share this layout.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TransitionRequestProto {
    #[prost(message, required, tag = "1")]
    pub req_info: HaStateChangeRequestInfoProto,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GetServiceStatusResponseProto {
    #[prost(enumeration = "HaServiceStateProto", required, tag = "1")]
    pub state: i32,
    #[prost(bool, optional, tag = "2")]
    pub ready_to_become_active: Option<bool>,
    #[prost(string, optional, tag = "3")]
    pub not_ready_reason: Option<String>,
}
