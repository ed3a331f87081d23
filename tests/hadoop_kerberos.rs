//! rmfc's Kerberos (SASL GSSAPI) client against Hadoop's own secure RPC server
//! (`SecureHaServer`: Hadoop 3.5.0, `hadoop.security.authentication=kerberos`, logged in from a
//! keytab) and a real MIT KDC started on loopback: every protection level, and each way it can go
//! wrong giving a clear error. Driven through `rmfc rm-admin`, the real binary, so the login
//! from a keytab and from a ticket cache are the ones operators use.

mod support;

use std::process::{Command, Output};
use std::time::Duration;

use support::hadoop_secure::SecureHaServer;
use support::kdc::ClusterRealm;
use support::procs::rmfc;

fn rm_admin(realm: &ClusterRealm, extra: &[&str], op: &str) -> Output {
    let mut cmd = rmfc(&["rm-admin"]);
    cmd.args(extra).arg(op);
    realm.kdc.configure(&mut cmd);
    cmd.output().expect("run rmfc rm-admin")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn every_protection_level_authenticates_as_rmfcs_principal() {
    let r = ClusterRealm::start();
    let keytab = r.rmfc_keytab.display().to_string();
    for protection in ["authentication", "integrity", "privacy"] {
        let server = SecureHaServer::start(&r.kdc, "rm/localhost@RMFC.TEST", &r.rm_keytab, protection);
        let addr = server.addr();
        let args = [
            "--address",
            &addr,
            "--rm-principal",
            "rm/_HOST@RMFC.TEST",
            "--principal",
            "rmfc/localhost@RMFC.TEST",
            "--keytab",
            &keytab,
            "--rpc-protection",
            protection,
            "--timeout",
            "30s",
        ];
        let out = rm_admin(&r, &args, "get-service-state");
        assert!(out.status.success(), "{protection}: {}", text(&out));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "standby", "{protection}");
        let out = rm_admin(&r, &args, "transition-to-active");
        assert!(out.status.success(), "{protection}: {}", text(&out));
        let out = rm_admin(&r, &args, "get-service-state");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "active", "{protection}: {}", text(&out));
        let seen = server.wait_authenticated("transitionToActive");
        assert_eq!(seen[0].auth_method, "KERBEROS", "{protection}: {seen:?}");
        assert_eq!(seen[0].user, "rmfc/localhost@RMFC.TEST", "{protection}: the server knows rmfc by its ticket");
        let sasl_qop = match protection {
            "authentication" => "auth",
            "integrity" => "auth-int",
            _ => "auth-conf",
        };
        assert_eq!(seen[0].qop.as_deref(), Some(sasl_qop), "{protection}: what the server negotiated");
    }
}

/// `rm-admin get-service-state` against `server` with the realm's keytab login and `extra`.
fn state_with(r: &ClusterRealm, server: &str, extra: &[&str]) -> Output {
    let keytab = r.rmfc_keytab.display().to_string();
    let mut args: Vec<&str> = vec!["--address", server, "--timeout", "30s"];
    if !extra.contains(&"--rm-principal") {
        args.extend(["--rm-principal", "rm/_HOST@RMFC.TEST"]);
    }
    if !extra.contains(&"--keytab") && !extra.contains(&"--no-login") {
        args.extend(["--principal", "rmfc/localhost@RMFC.TEST", "--keytab", &keytab]);
    }
    args.extend(extra.iter().filter(|a| **a != "--no-login"));
    let out = rm_admin(r, &args, "get-service-state");
    assert!(!out.status.success(), "must fail with {extra:?}: {}", text(&out));
    out
}

#[test]
fn each_kerberos_failure_names_its_cause() {
    let r = ClusterRealm::start();
    let server = SecureHaServer::start(&r.kdc, "rm/localhost@RMFC.TEST", &r.rm_keytab, "privacy");
    let addr = server.addr();
    let missing = r.kdc.dir().join("missing.keytab").display().to_string();
    let other_keytab = r.kdc.add_principal("someone/localhost").display().to_string();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        // The RM is not the principal rmfc expects (Hadoop's own client check).
        (
            vec!["--rm-principal", "yarn/_HOST@RMFC.TEST"],
            vec!["server has Kerberos principal rm/localhost, expecting yarn/localhost@RMFC.TEST"],
        ),
        // The RM offers privacy only; rmfc accepts authentication only.
        (
            vec!["--rpc-protection", "authentication"],
            vec!["offers hadoop.rpc.protection privacy", "accepts authentication", "none in common"],
        ),
        // No keytab at that path.
        (
            vec!["--principal", "rmfc/localhost@RMFC.TEST", "--keytab", &missing],
            vec!["keytab", "missing.keytab", "cannot read it"],
        ),
        // A keytab without rmfc's key.
        (
            vec!["--principal", "rmfc/localhost@RMFC.TEST", "--keytab", &other_keytab],
            vec!["Kerberos login as rmfc/localhost@RMFC.TEST", "someone_localhost.keytab"],
        ),
        // A realm this KDC does not serve.
        (vec!["--rm-principal", "rm/_HOST@ELSEWHERE.TEST"], vec!["Kerberos authentication failed", "ELSEWHERE.TEST"]),
    ];
    for (extra, wants) in cases {
        let out = state_with(&r, &addr, &extra);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "refused, not unreachable, for {extra:?}: {t}");
        for want in wants {
            assert!(t.contains(want), "for {extra:?}, want {want:?} in: {t}");
        }
        assert!(!t.contains("panicked"), "{t}");
    }
    assert!(server.authenticated().is_empty(), "no call got through: {:?}", server.authenticated());
}

#[test]
fn an_expired_ticket_in_the_cache_is_reported_as_expired() {
    let r = ClusterRealm::start();
    let server = SecureHaServer::start(&r.kdc, "rm/localhost@RMFC.TEST", &r.rm_keytab, "authentication");
    let ccache = r.kdc.dir().join("short.ccache");
    r.kdc.kinit("rmfc/localhost@RMFC.TEST", &r.rmfc_keytab, &ccache, Duration::from_secs(2));
    // `klist -s` fails once no ticket in the cache is valid any more.
    support::wait::wait_until("the 2 s ticket to expire", Duration::from_secs(30), || {
        let mut klist = std::process::Command::new("klist");
        klist.arg("-s").arg("-c").arg(&ccache);
        r.kdc.configure(&mut klist);
        !klist.status().expect("klist").success()
    });
    // The KDC still honours a ticket within its clock skew (2 s here): wait past it.
    let expired_at = std::time::Instant::now();
    support::wait::wait_until("the ticket to be past the clock skew", Duration::from_secs(10), || {
        expired_at.elapsed() > Duration::from_secs(3)
    });
    let keytab_free = [("KRB5CCNAME", format!("FILE:{}", ccache.display()))];
    let addr = server.addr();
    let mut cmd = rmfc(&["rm-admin", "--address", &addr, "--rm-principal", "rm/_HOST@RMFC.TEST", "get-service-state"]);
    r.kdc.configure(&mut cmd);
    cmd.envs(keytab_free);
    let out = cmd.output().expect("rm-admin");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.to_lowercase().contains("expired"), "says the ticket expired: {t}");
    assert!(t.contains("ticket cache"), "says where the credentials came from: {t}");

    // A fresh kinit into the same cache, and the same command works: nothing was cached by rmfc.
    r.kdc.kinit("rmfc/localhost@RMFC.TEST", &r.rmfc_keytab, &ccache, Duration::from_secs(600));
    let mut cmd = rmfc(&["rm-admin", "--address", &addr, "--rm-principal", "rm/_HOST@RMFC.TEST", "get-service-state"]);
    r.kdc.configure(&mut cmd);
    cmd.envs([("KRB5CCNAME", format!("FILE:{}", ccache.display()))]);
    let out = cmd.output().expect("rm-admin");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(server.wait_authenticated("getServiceStatus")[0].user, "rmfc/localhost@RMFC.TEST");
}

#[test]
fn a_simple_server_is_refused_not_fallen_back_to() {
    let r = ClusterRealm::start();
    let simple = support::hadoop::JavaHaServer::start(&["manual"]);
    let addr = simple.addr("manual").replace("127.0.0.1", "localhost");
    let out = state_with(&r, &addr, &[]);
    let t = text(&out);
    assert!(t.contains("does not use Kerberos") && t.contains("does not fall back to SIMPLE"), "{t}");
    assert!(simple.calls("manual").is_empty(), "no call was made unauthenticated");
}

/// `rm-admin get-service-state` with rmfc's wall clock ten minutes ahead (tokio's monotonic
/// clock left alone) and `krb5_conf` as its Kerberos configuration.
fn skewed_state(r: &ClusterRealm, addr: &str, krb5_conf: &std::path::Path) -> Output {
    let faketime = "/usr/bin/faketime";
    assert!(
        std::path::Path::new(faketime).is_file(),
        "faketime is missing: apt-get install faketime (or run .ci/setup)"
    );
    let keytab = r.rmfc_keytab.display().to_string();
    let mut cmd = Command::new(faketime);
    cmd.args(["-f", "+600s", support::procs::rmfc_bin(), "rm-admin", "--address", addr]);
    cmd.args(["--rm-principal", "rm/_HOST@RMFC.TEST", "--principal", "rmfc/localhost@RMFC.TEST", "--keytab", &keytab]);
    cmd.arg("get-service-state").env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    r.kdc.configure(&mut cmd);
    cmd.env("KRB5_CONFIG", krb5_conf);
    cmd.output().expect("faketime rmfc rm-admin")
}

#[test]
fn a_clock_ten_minutes_off_is_compensated_or_reported_as_clock_skew() {
    let r = ClusterRealm::start();
    let server = SecureHaServer::start(&r.kdc, "rm/localhost@RMFC.TEST", &r.rm_keytab, "authentication");
    let addr = server.addr();
    // MIT's default (kdc_timesync): the library measures the KDC's clock and compensates.
    let out = skewed_state(&r, &addr, &r.kdc.krb5_conf());
    assert!(out.status.success(), "{}", text(&out));
    // Sites that turn that off get the KDC's verdict, named.
    let strict = r.kdc.dir().join("krb5-no-timesync.conf");
    let conf = std::fs::read_to_string(r.kdc.krb5_conf()).expect("krb5.conf");
    std::fs::write(&strict, conf.replacen("[libdefaults]", "[libdefaults]\n  kdc_timesync = 0", 1)).expect("write");
    let out = skewed_state(&r, &addr, &strict);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("Clock skew too great"), "names the clock skew: {t}");
    assert!(t.contains("rmfc/localhost@RMFC.TEST"), "and whom: {t}");
}
