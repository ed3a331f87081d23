//! rmfc: a ResourceManager failover controller for Apache Hadoop YARN.
//!
//! - [`hadoop_ipc`]: Hadoop IPC v9 and `HAServiceProtocol`, client and server.
//! - [`config`]: the YAML configuration, its validation and the timing budget it implies.
//! - [`core`]: the pure decision core (no I/O, no clock).
//! - [`sim`]: a simulated ResourceManager for the demo and the tests.
//! - [`cli`]: the command-line front ends.

pub mod cli;
pub mod config;
pub mod core;
pub mod hadoop_ipc;
pub mod sim;
