//! The admin API over TLS (`admin.tls_cert_file` + `admin.tls_key_file`), against a real daemon:
//! the CLI reaches it with the CA given by `--ca-file`, refuses a certificate it cannot verify,
//! and plain HTTP gets no API. Certificates are made with the `openssl` command (a CA and a
//! server certificate for 127.0.0.1), as an operator would.

mod support;

use std::time::Duration;

use support::cluster::{Cluster, ClusterOptions};
use support::pki::TestCa;
use support::procs::{http_get, rmfc};

const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn the_admin_api_serves_https_and_the_cli_verifies_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new(dir.path(), "rmfc");
    let server = ca.issue("server", "127.0.0.1", &["IP:127.0.0.1"]);
    let (cert, key, ca) = (server.cert, server.key, ca.cert);
    let c = Cluster::start(ClusterOptions {
        extra_yaml: format!(
            "admin:\n  listen: 127.0.0.1:0\n  tls_cert_file: {}\n  tls_key_file: {}\n",
            cert.display(),
            key.display()
        ),
        ..ClusterOptions::default()
    });
    c.wait_one_active(DEADLINE, None);
    let http_url = c.admin_url(0);
    assert!(c.controller_log(0).contains("https"), "{}", c.controller_log(0));
    let https_url = http_url.replace("http://", "https://");
    let ca_arg = ca.to_str().expect("utf-8 path");

    let ok = rmfc(&["status", "--admin", &https_url, "--ca-file", ca_arg]).output().expect("rmfc status");
    let out = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&ok.stderr));
    assert!(out.contains("rm1") && out.contains("rm2"), "{out}");

    let pause =
        rmfc(&["pause", "--reason", "tls test", "--admin", &https_url, "--ca-file", ca_arg]).output().expect("pause");
    assert_eq!(pause.status.code(), Some(0), "{}", String::from_utf8_lossy(&pause.stderr));

    // An unknown CA: the CLI refuses to talk (exit 3: failed), and says why.
    let untrusted = rmfc(&["status", "--admin", &https_url]).output().expect("rmfc status");
    assert_eq!(untrusted.status.code(), Some(3));
    let err = String::from_utf8_lossy(&untrusted.stderr).to_lowercase();
    assert!(err.contains("certificate") || err.contains("issuer"), "{err}");

    // Plain HTTP to the TLS port gets no API answer.
    assert!(http_get(&http_url, "/v1/status").map(|r| r.status != 200).unwrap_or(true));
    // The daemon still serves after that bad client.
    let again = rmfc(&["status", "--admin", &https_url, "--ca-file", ca_arg]).output().expect("rmfc status");
    assert_eq!(again.status.code(), Some(0));
}
