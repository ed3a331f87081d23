//! The ZooKeeper adapter (`rmfc::zk`) against a real ZooKeeper: each test drives adapters
//! through `execute` exactly as the daemon does and asserts on the events they report, with
//! deadlines. A raw `zookeeper-client` session looks at (or tampers with) the znodes from the
//! outside. Faults (SIGSTOP, SIGKILL + restart, losing an ensemble node) come from the launcher
//! in `tests/support/zk/`.
//!
//! `harness` drives the adapters (the `zk_security` binary shares it); `election` covers
//! sessions and candidates, `records` the state, history and health, `faults` frozen,
//! restarted and lost servers.

#[path = "../support/mod.rs"]
mod support;

mod election;
mod faults;
mod harness;
mod records;
