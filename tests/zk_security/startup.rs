//! Secrets and files of the `zookeeper` keys are read once, at start-up, and a problem stops
//! the daemon with the key and the file named: through `daemon::wiring` for each kind of file,
//! and once through a real `rmfc run`.

use std::time::Duration;

use rmfc::daemon::wiring;

use crate::access::*;
use crate::support::pki::TestCa;
use crate::support::procs::rmfc;

#[test]
fn each_unusable_file_stops_start_up_naming_its_key_and_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let missing = d.join("missing").display().to_string();
    let no_colon = secret(d, "digest-no-colon", "rmfc\n");
    let empty = secret(d, "empty", "\n");
    let not_pem = secret(d, "not-pem", "hello\n");
    let bad_acl = secret(d, "bad-acl", "sasl:rmfc:rwz\n");
    let ca = TestCa::new(d, "zk");
    let (a, b) = (ca.issue("a", "a", &["DNS:a"]), ca.issue("b", "b", &["DNS:b"]));
    let ca = ca.cert.display().to_string();
    let sasl = |file: &str| {
        format!("  auth: {{ sasl: {{ mechanism: digest-md5, username: rmfc, password_file: {file} }} }}\n")
    };
    let cases: Vec<(String, String)> = vec![
        (
            format!("  auth: {{ digest_file: {missing} }}\n"),
            format!("zookeeper.auth.digest_file {missing}: No such file"),
        ),
        (
            format!("  auth: {{ digest_file: {no_colon} }}\n"),
            format!("zookeeper.auth.digest_file {no_colon}: expected user:password"),
        ),
        (sasl(&missing), format!("zookeeper.auth.sasl.password_file {missing}: No such file")),
        (sasl(&empty), format!("zookeeper.auth.sasl.password_file {empty}: the file is empty")),
        (format!("  tls: {{ ca_file: {missing} }}\n"), format!("zookeeper.tls.ca_file {missing}: No such file")),
        (
            format!("  tls: {{ ca_file: {not_pem} }}\n"),
            format!("zookeeper.tls.ca_file {not_pem}: no usable PEM CA certificate"),
        ),
        (
            format!("  tls: {{ ca_file: {ca}, cert_file: {not_pem}, key_file: {} }}\n", a.key.display()),
            format!("zookeeper.tls.cert_file {not_pem}: no PEM certificate in it"),
        ),
        (
            format!("  tls: {{ ca_file: {ca}, cert_file: {}, key_file: {not_pem} }}\n", a.cert.display()),
            format!("zookeeper.tls.key_file {not_pem}: no usable PEM private key"),
        ),
        (
            format!("  tls: {{ ca_file: {ca}, cert_file: {}, key_file: {} }}\n", a.cert.display(), b.key.display()),
            format!("zookeeper.tls.key_file {}: does not fit zookeeper.tls.cert_file", b.key.display()),
        ),
        (format!("  acl: '@{missing}'\n"), format!("zookeeper.acl @{missing}: No such file")),
        (format!("  acl: '@{bad_acl}'\n"), format!("zookeeper.acl @{bad_acl}: invalid permission 'z'")),
    ];
    for (zk_extra, want) in cases {
        let cfg = rmfc_config("127.0.0.1:1", "rm1", &zk_extra, "");
        let got = format!("{:#}", wiring::zk_access(&cfg).expect_err(&zk_extra));
        assert!(got.starts_with(&want), "for\n{zk_extra}\n got: {got}\nwant: {want}");
    }
}

#[test]
fn rmfc_run_refuses_to_start_without_its_sasl_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("zk-sasl-password");
    let cfg = format!(
        "cluster_id: c1\nrm_id: rm1\nresource_managers:\n  rm1: {{ admin_address: 'localhost:18033', web_address: \
         'http://localhost:18088' }}\n  rm2: {{ admin_address: 'localhost:28033', web_address: \
         'http://localhost:28088' }}\nzookeeper:\n  connect: '127.0.0.1:1'\n  auth:\n    sasl: {{ mechanism: \
         digest-md5, username: rmfc, password_file: {} }}\nadmin: {{ listen: '127.0.0.1:0' }}\n",
        missing.display()
    );
    let file = dir.path().join("rmfc.yaml");
    std::fs::write(&file, cfg).expect("write config");
    let mut child = rmfc(&["run", "-c", file.to_str().expect("utf-8")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run rmfc");
    let status = crate::support::wait::wait_for("rmfc run to exit", Duration::from_secs(20), || {
        child.try_wait().expect("wait for rmfc")
    });
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err).expect("read stderr");
    assert_eq!(status.code(), Some(1), "{err}");
    let want = format!("zookeeper.auth.sasl.password_file {}: No such file", missing.display());
    assert!(err.contains(&want), "{err}");
}
