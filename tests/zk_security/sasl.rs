//! SASL DIGEST-MD5 (`zookeeper.auth.sasl: { mechanism: digest-md5 }`) against users of the
//! server's JAAS `Server` section: the sessions hold the identity `sasl:<user>`, the default ACL
//! gives rmfc's znodes to that identity alone, an explicit `sasl:` ACL is applied as written, a
//! server that requires SASL admits rmfc — and its `zk_state_store` fencing session, which
//! connects with the same credentials.

use rmfc::zk::ZkSaslAuth;

use crate::access::*;

fn sasl_as(username: &str, password: &str) -> ZkSecurity {
    let sasl = ZkSaslAuth::DigestMd5 { username: username.into(), password: password.into() };
    ZkSecurity { sasl: Some(sasl), ..ZkSecurity::default() }
}

fn server() -> ZkServer {
    ZkServer::builder().sasl_user("rmfc", "rmfc-pw").sasl_user("yarn", "yarn-pw").start()
}

/// `zookeeper` lines for SASL DIGEST-MD5 as rmfc, the password in a file under `dir`.
fn sasl_yaml(dir: &std::path::Path) -> String {
    let password_file = secret(dir, "zk-sasl-password", "rmfc-pw\n");
    format!("  auth:\n    sasl: {{ mechanism: digest-md5, username: rmfc, password_file: {password_file} }}\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_digest_md5_gives_rmfcs_znodes_to_its_sasl_identity_alone() {
    let server = server();
    let cs = server.connect_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut a = Peer::new(adapter_config(&rmfc_config(&cs, "rm1", &sasl_yaml(dir.path()), "")));
    let written = create_everything(&mut a).await;

    let owner = connect_as(&cs, &sasl_as("rmfc", "rmfc-pw")).await.expect("rmfc's SASL login");
    for p in written.paths() {
        let acl = acl_of(&owner, &p).await;
        assert_eq!(acl, [("sasl".to_string(), "rmfc".to_string(), zk::Permission::ALL)], "{p}");
    }
    // Anonymous, and a valid SASL user who is not rmfc: locked out, reads included.
    for intruder in [ZkSecurity::default(), sasl_as("yarn", "yarn-pw")] {
        let client = connect_as(&cs, &intruder).await.expect("the intruder connects");
        assert_locked_out(&client, &written, false).await;
    }
    // A wrong password does not even get a session.
    let refused = connect_as(&cs, &sasl_as("rmfc", "guess")).await;
    assert!(refused.is_err(), "a wrong SASL password was accepted");
    assert_state_intact(&owner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_sasl_acl_is_applied_as_written() {
    let server = server();
    let cs = server.connect_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let zk_extra = format!("{}  acl: 'sasl:rmfc:rwcda,sasl:yarn:r'\n", sasl_yaml(dir.path()));
    let mut a = Peer::new(adapter_config(&rmfc_config(&cs, "rm1", &zk_extra, "")));
    let written = create_everything(&mut a).await;
    let owner = connect_as(&cs, &sasl_as("rmfc", "rmfc-pw")).await.expect("rmfc's SASL login");
    let want = [
        ("sasl".to_string(), "rmfc".to_string(), zk::Permission::ALL),
        ("sasl".to_string(), "yarn".to_string(), zk::Permission::READ),
    ];
    for p in written.paths() {
        assert_eq!(acl_of(&owner, &p).await, want, "{p}");
    }
    let yarn = connect_as(&cs, &sasl_as("yarn", "yarn-pw")).await.expect("yarn's SASL login");
    assert_locked_out(&yarn, &written, true).await;
    let anonymous = connect_as(&cs, &ZkSecurity::default()).await.expect("anonymous session");
    assert_locked_out(&anonymous, &written, false).await;
    assert_state_intact(&owner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_requiring_sasl_admits_rmfc_and_its_fencing_session_only() {
    let server = ZkServer::builder().sasl_user("rmfc", "rmfc-pw").require_sasl().start();
    let cs = server.connect_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = rmfc_config(&cs, "rm1", &sasl_yaml(dir.path()), "");
    let mut a = Peer::new(adapter_config(&cfg));
    create_everything(&mut a).await;
    a.read_election(|c| c.len() == 1).await;

    // Without SASL, the server closes the session at its first request (or at once).
    let anonymous = match connect_as(&cs, &ZkSecurity::default()).await {
        Err(e) => Err(e),
        Ok(client) => bounded("get", client.get_data("/")).await.map(drop),
    };
    assert!(anonymous.is_err(), "an anonymous session was served by a server that requires SASL");

    // The zk_state_store fencing step reads the store root on its own session: with rmfc's
    // credentials it does (no root yet: an empty record), without them it cannot.
    let (fencer, mut rx) = fence_adapter(&cfg);
    assert_eq!(store_fence_step(&fencer, &mut rx).await, Ok(()));
    let (anonymous_fencer, mut rx) = fence_adapter(&rmfc_config(&cs, "rm1", "", ""));
    let err = store_fence_step(&anonymous_fencer, &mut rx).await.expect_err("no credentials, no store read");
    assert!(err.contains("cannot read the ACL of store root"), "{err}");
}
