//! TLS to the servers' secure client port (`zookeeper.tls`): with the CA (and, for a server with
//! `ssl.clientAuth=need`, rmfc's client certificate) the election and the state write work, the
//! fencing session connects the same way, and the certificate is rmfc's identity for the
//! `auth` ACL (the server's x509 provider). A client trusting another CA, one without a client
//! certificate, and plain TCP on the secure port are all refused.

use std::path::Path;

use rmfc::config::{ZkTls, ZkTlsIdentity};
use rmfc::daemon::wiring;

use crate::access::*;
use crate::support::pki::{Issued, TestCa};
use crate::support::zk::ZkServerTls;

/// A server on TLS that requires a client certificate signed by `ca`.
fn tls_server(dir: &Path, ca: &TestCa) -> ZkServer {
    let cert = ca.issue("zk-server", "localhost", &["DNS:localhost", "IP:127.0.0.1"]);
    let keystore = cert.key_store(&dir.join("zk-server-keystore.pem"));
    ZkServer::builder().tls(ZkServerTls { keystore, truststore: ca.cert.clone(), need_client_auth: true }).start()
}

/// A raw client's TLS settings, loaded as the daemon loads them.
fn tls_as(ca: &Path, identity: Option<&Issued>) -> ZkSecurity {
    let identity = identity.map(|i| ZkTlsIdentity { cert_file: i.cert.clone(), key_file: i.key.clone() });
    let tls = wiring::zk_tls(&ZkTls { ca_file: ca.to_owned(), identity }).unwrap_or_else(|e| panic!("{e}"));
    ZkSecurity { tls: Some(tls), ..ZkSecurity::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_with_a_client_certificate_rmfc_elects_writes_and_owns_its_znodes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new(dir.path(), "zk");
    let server = tls_server(dir.path(), &ca);
    let cs = server.secure_connect_string();
    let client = ca.issue("rmfc-client", "rmfc-client", &["DNS:rmfc-client"]);
    let zk_extra = format!(
        "  tls: {{ ca_file: {}, cert_file: {}, key_file: {} }}\n  acl: 'auth::rwcda'\n",
        ca.cert.display(),
        client.cert.display(),
        client.key.display()
    );
    let cfg = rmfc_config(&cs, "rm1", &zk_extra, "");
    let mut a = Peer::new(adapter_config(&cfg));
    let mut b = Peer::new(adapter_config(&rmfc_config(&cs, "rm2", &zk_extra, "")));
    let written = create_everything(&mut a).await;
    b.open(1).await;
    b.join().await;
    let view = b.read_election(|c| c.len() == 2).await;
    assert!(view.iter().any(|c| c.znode == written.own), "{view:?}");
    let snap = b.read_state().await.expect("rm2 reads the state over TLS");
    assert_eq!(snap.state.epoch, 1);

    // With the x509 provider the certificate is the session's identity: `auth` names it.
    let owner = connect_as(&cs, &tls_as(&ca.cert, Some(&client))).await.expect("TLS with the CA and certificate");
    for p in written.paths() {
        let acl = acl_of(&owner, &p).await;
        assert_eq!(acl, [("x509".to_string(), "CN=rmfc-client".to_string(), zk::Permission::ALL)], "{p}");
    }
    // Another certificate of the same CA is another identity: locked out.
    let other = ca.issue("other-client", "other-client", &["DNS:other-client"]);
    let intruder = connect_as(&cs, &tls_as(&ca.cert, Some(&other))).await.expect("another client certificate");
    assert_locked_out(&intruder, &written, false).await;
    assert_state_intact(&owner).await;

    // The zk_state_store fencing session connects over TLS too.
    let (fencer, mut rx) = fence_adapter(&cfg);
    assert_eq!(store_fence_step(&fencer, &mut rx).await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secure_port_refuses_clients_without_the_ca_or_a_certificate_and_plain_tcp() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new(dir.path(), "zk");
    let server = tls_server(dir.path(), &ca);
    let cs = server.secure_connect_string();
    let client = ca.issue("rmfc-client", "rmfc-client", &["DNS:rmfc-client"]);
    let stranger_ca = TestCa::new(dir.path(), "stranger");
    let stranger = stranger_ca.issue("stranger", "rmfc-client", &["DNS:rmfc-client"]);

    connect_as(&cs, &tls_as(&ca.cert, Some(&client))).await.expect("the right CA and certificate connect");
    for (who, security) in [
        ("a client trusting another CA", tls_as(&stranger_ca.cert, Some(&client))),
        ("a client whose certificate another CA signed", tls_as(&stranger_ca.cert, Some(&stranger))),
        ("a client without a certificate", tls_as(&ca.cert, None)),
        ("plain TCP", ZkSecurity::default()),
    ] {
        let got = connect_as(&cs, &security).await;
        assert!(got.is_err(), "{who} got a session on the secure port");
    }
}
