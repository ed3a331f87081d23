//! The Jepsen-style torture test's parts: a seeded fault [`schedule`], the [`driver`] that builds
//! a cluster and executes the schedule, and the [`report`] (checker over the RMs' journals and the
//! controllers' history).
//!
//! `tests/torture.rs` runs it; other tests reuse the checker (e.g. `report::active_intervals`).
//! Must not: hold `#[test]`s (every test binary compiles the support modules); must not duplicate the shared support (ZooKeeper, sim RMs, cluster config, network
//! namespaces live in `tests/support/`).

pub mod driver;
pub mod report;
pub mod schedule;
