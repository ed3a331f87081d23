//! SASL GSSAPI (`zookeeper.auth.sasl: { mechanism: gssapi }`) against a real ZooKeeper whose
//! JAAS login is `zookeeper/localhost@RMFC.TEST` from a keytab, with a real MIT KDC
//! (`support::kdc`). rmfc logs in exactly as the daemon does (`security::rm_client_auth` from
//! `security.keytab`: a client keytab and a private in-memory cache in the process
//! environment), and the zookeeper-client's GSSAPI (rsasl over MIT's libgssapi) uses those
//! default credentials.
//!
//! Its own binary with a single test: the Kerberos environment is process-wide and is set once,
//! before any other thread could read it. Built with `--features kerberos` only (without it,
//! rmfc has no GSSAPI and refuses `mechanism: gssapi` at config validation).

#![cfg(feature = "kerberos")]

mod support;

// Shared with zk_adapter and zk_security, which use all of them.
#[allow(dead_code, unused_imports)]
#[path = "zk_adapter/harness.rs"]
mod harness;

#[allow(dead_code)]
#[path = "zk_security/access.rs"]
mod access;

use access::*;
use support::kdc::Kdc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gssapi_sessions_own_rmfcs_znodes_as_rmfcs_principal() {
    let kdc = Kdc::start();
    for (key, value) in kdc.env() {
        std::env::set_var(key, value);
    }
    let zk_keytab = kdc.add_principal("zookeeper/localhost");
    let rmfc_keytab = kdc.add_principal("rmfc/localhost");
    // rm1's admin address is localhost (see rmfc_config): _HOST becomes localhost.
    let security = format!(
        "security: {{ authentication: kerberos, principal: rmfc/_HOST@RMFC.TEST, keytab: {}, rm_principal: \
         rm/_HOST@RMFC.TEST }}\nhealth: {{ rest: false }}\n",
        rmfc_keytab.display()
    );
    let gssapi = "  auth:\n    sasl: { mechanism: gssapi }\n";
    let open = ZkServer::builder()
        .sasl_kerberos(&kdc.principal("zookeeper/localhost"), zk_keytab.clone(), kdc.krb5_conf())
        .start();
    // The principal's instance is the host as written in the connect string.
    let cs = format!("localhost:{}", open.client_addr().port());
    let cfg = rmfc_config(&cs, "rm1", gssapi, &security);
    // The daemon's environment, as its main() prepares it (KRB5_CLIENT_KTNAME, KRB5CCNAME), and
    // its login, before any ZooKeeper session.
    // SAFETY: as the set_var calls above: this binary's only test, nothing reads the
    // environment concurrently.
    unsafe { rmfc::security::prepare_keytab_environment(&rmfc_keytab) };
    rmfc::security::rm_client_auth(&cfg).unwrap_or_else(|e| panic!("{e}\n{}", kdc.log()));

    let mut a = Peer::new(adapter_config(&cfg));
    let written = create_everything(&mut a).await;
    let me = rmfc::zk::ZkSaslAuth::Gssapi { service: "zookeeper".into(), hostname: None };
    let owner = connect_as(&cs, &ZkSecurity { sasl: Some(me), ..ZkSecurity::default() })
        .await
        .expect("rmfc's own GSSAPI login");
    for p in written.paths() {
        let acl = acl_of(&owner, &p).await;
        let want = [("sasl".to_string(), "rmfc/localhost@RMFC.TEST".to_string(), zk::Permission::ALL)];
        assert_eq!(acl, want, "{p}: ZooKeeper's id of rmfc's principal, alone");
    }
    for intruder in [raw(&cs, None).await, raw(&cs, Some("rmfc:guess")).await] {
        assert_locked_out(&intruder, &written, false).await;
    }
    assert_state_intact(&owner).await;

    // A server that requires SASL, reached by IP with the principal's host given by
    // zookeeper.auth.sasl.hostname: rmfc joins, its fencing session reads the store, an
    // anonymous one cannot.
    let strict = ZkServer::builder()
        .sasl_kerberos(&kdc.principal("zookeeper/localhost"), zk_keytab, kdc.krb5_conf())
        .require_sasl()
        .start();
    let by_ip = strict.connect_string();
    let gssapi_by_ip = "  auth:\n    sasl: { mechanism: gssapi, hostname: localhost }\n";
    let cfg = rmfc_config(&by_ip, "rm1", gssapi_by_ip, &security);
    let mut b = Peer::new(adapter_config(&cfg));
    b.open(1).await;
    b.join().await;
    let (fencer, mut rx) = fence_adapter(&cfg);
    assert_eq!(store_fence_step(&fencer, &mut rx).await, Ok(()));
    let (anonymous, mut rx) = fence_adapter(&rmfc_config(&by_ip, "rm1", "", ""));
    let err = store_fence_step(&anonymous, &mut rx).await.expect_err("no SASL, no store read");
    assert!(err.contains("cannot read the ACL of store root"), "{err}");
    // Without the hostname, the principal would be zookeeper/127.0.0.1, which the KDC does not
    // know: no session.
    let wrong = rmfc::zk::ZkSaslAuth::Gssapi { service: "zookeeper".into(), hostname: None };
    let refused = connect_as(&by_ip, &ZkSecurity { sasl: Some(wrong), ..ZkSecurity::default() }).await;
    assert!(refused.is_err(), "GSSAPI to zookeeper/127.0.0.1 succeeded");
}
