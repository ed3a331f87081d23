//! rmfc: a ResourceManager failover controller for Apache Hadoop YARN.
//!
//! - [`hadoop_ipc`]: Hadoop IPC v9 and `HAServiceProtocol`, client and server.
//! - [`sim`]: a simulated ResourceManager for the demo and the tests.
//! - [`cli`]: the command-line front ends.

pub mod cli;
pub mod hadoop_ipc;
pub mod sim;
