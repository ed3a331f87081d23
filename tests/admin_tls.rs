//! The admin API over TLS (`admin.tls_cert_file` + `admin.tls_key_file`), against a real daemon:
//! the CLI reaches it with the CA given by `--ca-file`, refuses a certificate it cannot verify,
//! and plain HTTP gets no API. Certificates are made with the `openssl` command (a CA and a
//! server certificate for 127.0.0.1), as an operator would.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::cluster::{Cluster, ClusterOptions};
use support::procs::{http_get, rmfc};

const DEADLINE: Duration = Duration::from_secs(60);

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}; install it with `apt-get install -y openssl` (.ci/setup does)"));
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `ca.pem` and, signed by it, `server.pem` + `server.key` for IP 127.0.0.1.
fn make_certs(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=rmfc test CA", "-keyout", "ca.key", "-out", "ca.pem"];
    ca.extend(ec);
    openssl(dir, &ca);
    let mut csr = vec!["req", "-new", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"];
    csr.extend(ec);
    openssl(dir, &csr);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ],
    );
}

#[test]
fn the_admin_api_serves_https_and_the_cli_verifies_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    make_certs(dir.path());
    let (cert, key, ca) = (dir.path().join("server.pem"), dir.path().join("server.key"), dir.path().join("ca.pem"));
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
