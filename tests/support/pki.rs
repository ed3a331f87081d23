//! Certificates for TLS tests, made with the `openssl` command as an operator would make them:
//! a CA, and server or client certificates it signs (P-256 keys, PEM files, valid two days).
//!
//! Owns: running openssl and naming the files. Must not: configure any peer (tests hand the
//! files to the admin API, ZooKeeper or rmfc). A missing openssl fails the test with the
//! command that installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

const EC_KEY: [&str; 5] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("openssl: {e}; install it with `apt-get install -y openssl` (.ci/setup does)"));
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A certificate authority in a directory: `<name>-ca.pem` and its key.
pub struct TestCa {
    dir: PathBuf,
    /// The CA certificate (PEM): what clients and servers trust.
    pub cert: PathBuf,
    key: PathBuf,
}

/// A certificate signed by a [`TestCa`] and its private key (PEM).
pub struct Issued {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCa {
    /// Makes a CA whose subject is `CN=<name> test CA`, its files prefixed `name` in `dir`.
    pub fn new(dir: &Path, name: &str) -> TestCa {
        let (cert, key) = (dir.join(format!("{name}-ca.pem")), dir.join(format!("{name}-ca.key")));
        let subject = format!("/CN={name} test CA");
        let mut args = vec!["req", "-x509", "-days", "2", "-subj", &subject];
        args.extend(["-keyout", path(&key), "-out", path(&cert)]);
        args.extend(EC_KEY);
        openssl(dir, &args);
        TestCa { dir: dir.to_owned(), cert, key }
    }

    /// A certificate for `CN=<cn>` with the subjectAltNames `sans` (`IP:127.0.0.1`,
    /// `DNS:localhost`), usable by servers and clients: `<name>.pem` and `<name>.key`.
    pub fn issue(&self, name: &str, cn: &str, sans: &[&str]) -> Issued {
        let dir = &self.dir;
        let (cert, key, csr, ext) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key")),
            dir.join(format!("{name}.csr")),
            dir.join(format!("{name}.ext")),
        );
        let subject = format!("/CN={cn}");
        let mut args = vec!["req", "-new", "-subj", &subject, "-keyout", path(&key), "-out", path(&csr)];
        args.extend(EC_KEY);
        openssl(dir, &args);
        let ext_text = format!(
            "subjectAltName={}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n",
            sans.join(",")
        );
        std::fs::write(&ext, ext_text).unwrap_or_else(|e| panic!("write {}: {e}", ext.display()));
        let args = [
            "x509",
            "-req",
            "-in",
            path(&csr),
            "-CA",
            path(&self.cert),
            "-CAkey",
            path(&self.key),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            path(&ext),
            "-out",
            path(&cert),
        ];
        openssl(dir, &args);
        Issued { cert, key }
    }
}

impl Issued {
    /// The key followed by the certificate in one file at `to`: a PEM key store, as Java's
    /// `ssl.keyStore.type=PEM` (ZooKeeper) reads it.
    pub fn key_store(&self, to: &Path) -> PathBuf {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
        let text = format!("{}{}", read(&self.key), read(&self.cert));
        std::fs::write(to, text).unwrap_or_else(|e| panic!("write {}: {e}", to.display()));
        to.to_owned()
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}
