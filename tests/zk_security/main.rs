//! rmfc against a secured real ZooKeeper (Debian's 3.8, launched by `tests/support/zk/` with a
//! JAAS file, SASL required, or a TLS port): the adapters are configured exactly as the daemon
//! configures them — YAML → `Config` → `daemon::wiring` (secrets read from files) → adapter
//! settings — and driven through `execute` (`zk_adapter`'s harness). Raw `zookeeper-client`
//! sessions with other credentials, or none, play the intruder.
//!
//! `access`: the shared setup and the lock-out checks; `digest`: the digest scheme and the
//! default ACL; `sasl`: SASL DIGEST-MD5 through JAAS, required SASL, the fencing session;
//! `tls`: the secure port, client certificates; `startup`: a daemon refusing unreadable secrets.
//! GSSAPI has its own binary (`zk_gssapi`): it sets process-wide Kerberos environment.

#[path = "../support/mod.rs"]
mod support;

// Shared with zk_adapter, which uses all of it.
#[allow(dead_code, unused_imports)]
#[path = "../zk_adapter/harness.rs"]
mod harness;

mod access;
mod digest;
mod sasl;
mod startup;
mod tls;
