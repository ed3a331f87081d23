//! rmfc: a ResourceManager failover controller for Apache Hadoop YARN.
//!
//! - [`hadoop_ipc`]: Hadoop IPC v9 and `HAServiceProtocol`, client and server.
//! - [`config`]: the YAML configuration, its validation and the timing budget it implies.
//! - [`core`]: the pure decision core (no I/O, no clock).
//! - [`rm`]: the RM as the core sees it: probes and transitions.
//! - [`fence`]: the fencing chain's steps.
//! - [`zk`]: the ZooKeeper adapter: session, election znodes, CAS state, journal, health.
//! - [`sim`]: a simulated ResourceManager for the demo and the tests.
//! - [`demo`]: `rmfc demo`, a local cluster (ZooKeeper, simulated RMs, controllers) to try rmfc on.
//! - [`cli`]: the command-line front ends.

pub mod admin;
pub mod cli;
pub mod config;
pub mod core;
pub mod daemon;
pub mod demo;
pub mod fence;
pub mod hadoop_ipc;
pub mod metrics;
pub mod rm;
pub mod security;
pub mod signals;
pub mod sim;
pub mod wall_clock;
pub mod zk;
