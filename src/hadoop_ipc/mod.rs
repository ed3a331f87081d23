//! Hadoop IPC (RPC v9, protobuf engine) and `HAServiceProtocol`: the client rmfc uses to drive
//! every ResourceManager through its admin port, exactly as `yarn rmadmin` does, and the server
//! side the simulated RM serves.
//!
//! Owns: bytes on the wire and their meaning. Must not: make failover decisions.

pub mod client;
pub mod error;
pub mod frame;
#[cfg(feature = "kerberos")]
pub mod gss;
pub mod ha;
pub mod proto;
pub mod sasl;
pub mod server;
pub mod wire;

pub use client::{ClientAuth, ClientConfig, KerberosAuth};
pub use error::{IpcError, RemoteException};
pub use ha::{HaClient, HaError, HaServer, HaService, HaState, HaStatus, RequestSource};
