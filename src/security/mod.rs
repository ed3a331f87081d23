//! rmfc's own Kerberos identity: the login from `security.keytab` that every Kerberos
//! connection (the RMs' admin ports, ZooKeeper SASL GSSAPI) authenticates with.
//!
//! The login is MIT Kerberos' client-keytab mechanism: `KRB5_CLIENT_KTNAME` names the keytab
//! and `KRB5CCNAME` a private in-memory ticket cache, so the GSSAPI library gets the first
//! ticket from the keytab and renews it from there before it expires — no `kinit`, no cron,
//! no ticket cache on disk for another process to steal. The same environment serves the
//! ZooKeeper client's GSSAPI, which only knows default credentials.
//!
//! Two steps, because setting the environment is only sound while the process has one thread:
//! [`prepare_keytab_environment`] in `main`, before the tokio runtime is built, and
//! [`login_from_keytab`] later, once logging is up (it checks the keytab and gets the first
//! ticket, so a bad keytab or principal is reported at start naming both).
//!
//! Owns: that environment and the first login. Must not: touch the environment once other
//! threads exist, or hold secrets itself.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once, OnceLock};

use crate::config::security::resolve_host;
use crate::config::{Config, KerberosConfig};
use crate::hadoop_ipc::sasl::GssLogin;
use crate::hadoop_ipc::{ClientAuth, KerberosAuth};

/// Why rmfc could not log in.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("keytab {}: cannot read it: {source}", path.display())]
    KeytabUnreadable { path: PathBuf, source: std::io::Error },
    #[error("keytab {}: not a Kerberos keytab (it does not start with the keytab version bytes 05 01/05 02)", path.display())]
    NotAKeytab { path: PathBuf },
    #[error("Kerberos login as {principal} from keytab {} failed: {reason}", keytab.display())]
    Failed { principal: String, keytab: PathBuf, reason: String },
    #[error(
        "security.authentication is kerberos but this rmfc was built without the `kerberos` feature \
         (cargo build --features kerberos; the .deb is built with it)"
    )]
    NotBuiltIn,
    /// A bug: `main` did not call [`prepare_keytab_environment`] for this keytab.
    #[error(
        "internal error: the Kerberos environment for keytab {} was not prepared before the runtime started \
         (security::prepare_keytab_environment)", keytab.display()
    )]
    NotPrepared { keytab: PathBuf },
}

/// What [`prepare_keytab_environment`] set, for the login to check and report.
#[derive(Debug)]
struct Prepared {
    keytab: PathBuf,
    ccache: String,
    /// The operator's `KRB5CCNAME`, which rmfc's own cache replaced.
    replaced_ccache: Option<String>,
}

static PREPARED: OnceLock<Prepared> = OnceLock::new();

/// Points MIT Kerberos at `keytab` for the rest of the process: `KRB5_CLIENT_KTNAME` names it as
/// the client keytab (the library gets and renews tickets from it) and `KRB5CCNAME` a private
/// in-memory cache. Only the first call sets anything.
///
/// # Safety
///
/// No other thread may exist: `setenv` is not synchronised with the `getenv` calls libc, MIT's
/// library and any Rust code make at any time. Call it from `main` before the tokio runtime (or
/// anything else that starts a thread) is built.
pub unsafe fn prepare_keytab_environment(keytab: &Path) {
    if PREPARED.get().is_some() {
        return;
    }
    let keytab_abs = std::fs::canonicalize(keytab).unwrap_or_else(|_| keytab.to_path_buf());
    let ccache = format!("MEMORY:rmfc-{}", std::process::id());
    let replaced_ccache = std::env::var("KRB5CCNAME").ok().filter(|old| *old != ccache);
    std::env::set_var("KRB5_CLIENT_KTNAME", format!("FILE:{}", keytab_abs.display()));
    std::env::set_var("KRB5CCNAME", &ccache);
    let _ = PREPARED.set(Prepared { keytab: keytab.to_path_buf(), ccache, replaced_ccache });
}

/// The environment prepared for `keytab`; says once (logging is up by now) when it replaced
/// the operator's ticket cache.
fn prepared_for(keytab: &Path) -> Result<&'static Prepared, LoginError> {
    static WARNED: Once = Once::new();
    let prepared = PREPARED
        .get()
        .filter(|p| p.keytab == keytab)
        .ok_or_else(|| LoginError::NotPrepared { keytab: keytab.into() })?;
    if let Some(old) = &prepared.replaced_ccache {
        WARNED.call_once(|| {
            tracing::warn!(
                krb5ccname = %old,
                replaced_by = %prepared.ccache,
                keytab = %keytab.display(),
                "KRB5CCNAME is overridden: rmfc keeps the tickets it gets from its keytab in its own \
                 in-memory cache and leaves the cache KRB5CCNAME named alone"
            );
        });
    }
    Ok(prepared)
}

/// The keytab format's first two bytes (MIT `krb5_kt` version 1 or 2).
fn check_keytab(path: &Path) -> Result<(), LoginError> {
    use std::io::Read;
    let mut head = [0u8; 2];
    let mut f =
        std::fs::File::open(path).map_err(|source| LoginError::KeytabUnreadable { path: path.into(), source })?;
    f.read_exact(&mut head).map_err(|_| LoginError::NotAKeytab { path: path.into() })?;
    if head != [5, 1] && head != [5, 2] {
        return Err(LoginError::NotAKeytab { path: path.into() });
    }
    Ok(())
}

/// rmfc's principal with `_HOST` replaced: the host of this daemon's own RM admin address (rmfc
/// runs beside its RM, so that is this host's name as the cluster knows it).
pub fn own_principal(config: &Config, k: &KerberosConfig) -> String {
    let admin = &config.local_rm().admin_address;
    let host = admin.rsplit_once(':').map(|(h, _)| h).unwrap_or(admin);
    resolve_host(&k.principal, host.trim_start_matches('[').trim_end_matches(']'))
}

/// Logs in as `principal` from `keytab` for the rest of the process's life, in the environment
/// [`prepare_keytab_environment`] set for that keytab. At start-up: a bad keytab or principal
/// is reported now, naming both, not at the first failover.
pub fn login_from_keytab(principal: &str, keytab: &Path) -> Result<Arc<dyn GssLogin>, LoginError> {
    check_keytab(keytab)?;
    prepared_for(keytab)?;
    login_impl(principal, keytab)
}

#[cfg(feature = "kerberos")]
fn login_impl(principal: &str, keytab: &Path) -> Result<Arc<dyn GssLogin>, LoginError> {
    use crate::hadoop_ipc::gss::MitKerberos;
    let login = MitKerberos::new(Some(principal.to_string()), format!("keytab {}", keytab.display()));
    blocking(|| login.check()).map_err(|reason| LoginError::Failed {
        principal: principal.to_string(),
        keytab: keytab.to_path_buf(),
        reason,
    })?;
    Ok(Arc::new(login))
}

/// Runs `f`, which may wait for the KDC (MIT gets the first ticket when credentials are
/// acquired), without stalling other tasks: on a multi-threaded tokio runtime the worker hands
/// them to another thread first. Start-up has no deadline to keep, so the wait itself is MIT's
/// own KDC timeout.
#[cfg(feature = "kerberos")]
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(not(feature = "kerberos"))]
fn login_impl(_principal: &str, _keytab: &Path) -> Result<Arc<dyn GssLogin>, LoginError> {
    Err(LoginError::NotBuiltIn)
}

/// Credentials of whoever ran `kinit` (the user's ticket cache), for `rmfc rm-admin` by hand.
pub fn ticket_cache_login(principal: Option<String>) -> Result<Arc<dyn GssLogin>, LoginError> {
    #[cfg(feature = "kerberos")]
    {
        Ok(Arc::new(crate::hadoop_ipc::gss::MitKerberos::new(principal, "the ticket cache (kinit)")))
    }
    #[cfg(not(feature = "kerberos"))]
    {
        let _ = principal;
        Err(LoginError::NotBuiltIn)
    }
}

/// How the daemon authenticates to the RMs: SIMPLE, or Kerberos after logging in from the keytab.
pub fn rm_client_auth(config: &Config) -> Result<ClientAuth, LoginError> {
    let Some(k) = &config.security.kerberos else { return Ok(ClientAuth::Simple) };
    let login = login_from_keytab(&own_principal(config, k), &k.keytab)?;
    Ok(ClientAuth::Kerberos(KerberosAuth {
        server_principal: k.rm_principal.clone(),
        accept: k.rpc_protection.clone(),
        login,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keytabs_are_checked_before_any_login() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.keytab");
        let e = login_from_keytab("rmfc/h@R", &missing).expect_err("must fail");
        assert!(matches!(e, LoginError::KeytabUnreadable { .. }), "{e}");
        assert!(e.to_string().contains("missing.keytab"), "names the file: {e}");
        let text = dir.path().join("text.keytab");
        std::fs::write(&text, "not a keytab").unwrap();
        let e = login_from_keytab("rmfc/h@R", &text).expect_err("must fail");
        assert!(matches!(e, LoginError::NotAKeytab { .. }), "{e}");
    }

    #[test]
    fn a_login_from_a_keytab_main_did_not_prepare_is_refused() {
        // The unit tests never prepare the environment (they run on many threads).
        let dir = tempfile::tempdir().unwrap();
        let keytab = dir.path().join("rmfc.keytab");
        std::fs::write(&keytab, [5, 2, 0, 0]).unwrap();
        let e = login_from_keytab("rmfc/h@R", &keytab).expect_err("must fail");
        assert!(matches!(e, LoginError::NotPrepared { .. }), "{e}");
        assert!(e.to_string().contains("rmfc.keytab"), "{e}");
    }
}
