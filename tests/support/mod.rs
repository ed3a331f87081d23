//! Shared support for the integration tests: real peers (ZooKeeper, Hadoop's Java classes),
//! the `rmfc` binary as a child process, and condition waits with deadlines.
//!
//! Every integration test pulls this in with `mod support;`. Nothing here mocks a peer; a peer
//! that is missing makes the test fail loudly with the command that installs it.
#![allow(dead_code)]

pub mod cluster;
pub mod hadoop;
pub mod hadoop_secure;
pub mod kdc;
pub mod netns;
pub mod pki;
pub mod procs;
pub mod sim;
pub mod stats;
pub mod torture;
pub mod wait;
pub mod zk;
