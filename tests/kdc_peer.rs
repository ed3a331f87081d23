//! The secure-cluster test peers themselves: the MIT KDC (tests/support/kdc.rs) issues tickets
//! from the keytabs it exports and refuses principals it does not know; `SecureHaServer`
//! (tests/support/hadoop_secure.rs), Hadoop's own RPC server with Kerberos, is proven right by
//! Hadoop's own client at each protection level and refuses SIMPLE clients.
//!
//! rmfc's Kerberos tests (Hadoop IPC, ZooKeeper) stand on these peers; this binary tests no
//! rmfc code, so a failure here is the peer's or the machine's.

mod support;

use std::time::Duration;

use support::hadoop::java_ha_client;
use support::hadoop_secure::{secure_ha_client, ClientLogin, SecureHaServer};
use support::kdc::{ClusterRealm, Kdc, PrincipalOpts};

/// Seconds from `Valid starting` to `Expires` of the TGT line of `klist` output
/// (`12/07/26 06:16:04  12/07/26 06:16:24  krbtgt/RMFC.TEST@RMFC.TEST`).
fn tgt_lifetime_secs(klist: &str) -> u64 {
    let line = klist.lines().find(|l| l.contains("krbtgt/RMFC.TEST@RMFC.TEST")).expect("a TGT line");
    let secs = |hms: &str| -> u64 {
        hms.split(':').map(|p| p.parse::<u64>().expect("HH:MM:SS")).fold(0, |acc, v| acc * 60 + v)
    };
    let f: Vec<&str> = line.split_whitespace().collect();
    // Within one day is all these tests ask for; wrap past midnight.
    (secs(f[3]) + 86_400 - secs(f[1])) % 86_400
}

#[test]
fn the_kdc_issues_tickets_from_its_keytabs_and_refuses_strangers() {
    let kdc = Kdc::start();
    let keytab = kdc.add_principal("rmfc/localhost");
    let ccache = kdc.dir().join("rmfc.ccache");
    kdc.kinit("rmfc/localhost@RMFC.TEST", &keytab, &ccache, Duration::from_secs(600));
    let listed = kdc.klist(&ccache);
    assert!(listed.contains("Default principal: rmfc/localhost@RMFC.TEST"), "{listed}");
    assert_eq!(tgt_lifetime_secs(&listed), 600, "the lifetime asked for: {listed}");

    // A principal's max life caps what kinit asks for (renewal and expiry tests rely on it).
    let short = kdc.add_principal_with("short/localhost", PrincipalOpts { max_life: Some(Duration::from_secs(20)) });
    let short_cache = kdc.dir().join("short.ccache");
    kdc.kinit("short/localhost@RMFC.TEST", &short, &short_cache, Duration::from_secs(3600));
    let listed = kdc.klist(&short_cache);
    assert_eq!(tgt_lifetime_secs(&listed), 20, "capped by the principal's max life: {listed}");

    // The keytab of a principal the KDC no longer knows: the KDC itself refuses (not kinit
    // for want of a key), and says so in its log.
    let ghost = kdc.add_principal("ghost/localhost");
    kdc.delete_principal("ghost/localhost");
    let refused = kdc
        .try_kinit("ghost/localhost@RMFC.TEST", &ghost, &kdc.dir().join("ghost.ccache"), Duration::from_secs(60))
        .expect_err("no ticket for a principal the KDC does not know");
    assert!(refused.contains("not found in Kerberos database"), "{refused}");
    assert!(kdc.log().contains("CLIENT_NOT_FOUND"), "{}", kdc.log());
}

fn rmfc_login(r: &ClusterRealm, protection: &str) -> ClientLogin {
    ClientLogin {
        principal: "rmfc/localhost@RMFC.TEST".into(),
        keytab: r.rmfc_keytab.clone(),
        server_principal: "rm/localhost@RMFC.TEST".into(),
        protection: protection.into(),
    }
}

/// Hadoop's client, logged in as rmfc from its keytab, reads the state and promotes the server
/// at `protection`; the server saw rmfc's full principal, authenticated by Kerberos, over a
/// connection with SASL QOP `qop`.
fn hadoops_client_authenticates_at(protection: &str, qop: &str) {
    let r = ClusterRealm::start();
    let server = SecureHaServer::start(&r.kdc, "rm/localhost@RMFC.TEST", &r.rm_keytab, protection);
    let out =
        secure_ha_client(&r.kdc, &rmfc_login(&r, protection), &server.addr(), &["status", "active:user", "status"]);
    assert_eq!(
        out,
        ["OK status STANDBY ready=true", "OK active", "OK status ACTIVE ready=true"],
        "{protection}; server stderr:\n{}",
        server.stderr_text()
    );
    server.wait_authenticated("getServiceStatus");
    let calls = support::wait::wait_for("the server to log 3 calls", Duration::from_secs(30), || {
        let calls = server.authenticated();
        (calls.len() >= 3).then_some(calls)
    });
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, ["getServiceStatus", "transitionToActive", "getServiceStatus"]);
    assert_eq!(calls[1].source, "REQUEST_BY_USER");
    for call in &calls {
        assert_eq!(call.user, "rmfc/localhost@RMFC.TEST", "the full principal: {call:?}");
        assert_eq!(call.auth_method, "KERBEROS", "{call:?}");
        assert_eq!(call.qop.as_deref(), Some(qop), "{protection}: {call:?}");
        assert_eq!(call.short_user, "rmfc", "DEFAULT auth_to_local: the first component: {call:?}");
        assert_eq!(call.real_user, None, "not a proxy user: {call:?}");
    }
    let ok = server.wait_auth_log("Auth successful for rmfc/localhost@RMFC.TEST");
    assert!(ok.starts_with("INFO ") && ok.contains("(auth:KERBEROS)"), "{ok}");
}

#[test]
fn hadoops_own_client_authenticates_with_authentication() {
    hadoops_client_authenticates_at("authentication", "auth");
}

#[test]
fn hadoops_own_client_authenticates_with_integrity() {
    hadoops_client_authenticates_at("integrity", "auth-int");
}

#[test]
fn hadoops_own_client_authenticates_with_privacy() {
    hadoops_client_authenticates_at("privacy", "auth-conf");
}

/// A server accepting a list of protections: a client asking for one of them gets it; a client
/// with none in common, or without Kerberos (SIMPLE), is refused before any call is made.
#[test]
fn the_secure_server_refuses_simple_and_foreign_protection() {
    let r = ClusterRealm::start();
    let server = SecureHaServer::start(&r.kdc, "rm/localhost@RMFC.TEST", &r.rm_keytab, "authentication,privacy");
    let addr = server.addr();

    let simple = java_ha_client(&addr, &["status"]);
    assert_eq!(
        simple,
        ["ERR status org.apache.hadoop.security.AccessControlException SIMPLE authentication is not enabled.  \
          Available:[KERBEROS]"],
        "{}",
        server.stderr_text()
    );
    let foreign = secure_ha_client(&r.kdc, &rmfc_login(&r, "integrity"), &addr, &["status"]);
    assert_eq!(foreign.len(), 1, "{foreign:?}");
    // The JDK's SASL client finds no common layer and drops the connection: the server logs nothing.
    assert!(foreign[0].contains("No common protection layer between client and server"), "{foreign:?}");
    assert!(server.authenticated().is_empty(), "no call got through: {:?}", server.authenticated());

    let chosen = secure_ha_client(&r.kdc, &rmfc_login(&r, "privacy"), &addr, &["status"]);
    assert_eq!(chosen, ["OK status STANDBY ready=true"]);
    let call = server.wait_authenticated("getServiceStatus").remove(0);
    assert_eq!((call.user.as_str(), call.qop.as_deref()), ("rmfc/localhost@RMFC.TEST", Some("auth-conf")));
}
