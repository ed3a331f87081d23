//! The digest scheme (`zookeeper.auth.digest_file`, what Hadoop's `hadoop.zk.auth=digest:...`
//! gives the RM) and the default ACL that comes with credentials: every znode rmfc creates
//! belongs to rmfc's digest identity alone — nobody else may change it, or even read it. The
//! world-readable variant of earlier versions is still there, when asked for in `zookeeper.acl`.

use crate::access::*;

const SECRET: &str = "rmfc:s3cret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_credentials_give_rmfcs_znodes_to_rmfc_alone() {
    let server = ZkServer::start();
    let cs = server.connect_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let zk_extra = format!("  auth: {{ digest_file: {} }}\n", secret(dir.path(), "zk-digest", &format!("{SECRET}\n")));
    let mut a = Peer::new(adapter_config(&rmfc_config(&cs, "rm1", &zk_extra, "")));
    let mut b = Peer::new(adapter_config(&rmfc_config(&cs, "rm2", &zk_extra, "")));
    let written = create_everything(&mut a).await;
    b.open(1).await;
    // A peer with the same credentials can use the directories rm1 created.
    let nb = b.join().await;

    let owner = raw(&cs, Some(SECRET)).await;
    let mut paths = written.paths();
    paths.push(path(&format!("election/{nb}")));
    for p in &paths {
        let acl = acl_of(&owner, p).await;
        assert_eq!(acl.len(), 1, "{p}: rmfc's identity only, no world:anyone READ: {acl:?}");
        let (scheme, id, perms) = &acl[0];
        assert_eq!((scheme.as_str(), *perms), ("digest", zk::Permission::ALL), "{p}: {acl:?}");
        assert!(id.starts_with("rmfc:") && id.len() > "rmfc:".len(), "{p}: the server's hash of rmfc's id: {acl:?}");
    }

    // Anonymous, a wrong password (digest auth never fails: it yields another identity) and
    // another user with the same password: none may touch or read rmfc's state.
    for digest in [None, Some("rmfc:guess"), Some("yarn:s3cret")] {
        let intruder = raw(&cs, digest).await;
        assert_locked_out(&intruder, &written, false).await;
    }
    assert_state_intact(&owner).await;
    let (data, stat) = get(&owner, &path("state")).await.expect("state");
    bounded("set", owner.set_data(&path("state"), &data, Some(stat.version))).await.expect("rmfc's identity may write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_acl_can_let_the_world_read() {
    let server = ZkServer::start();
    let cs = server.connect_string();
    // The digest id of SECRET as the server computes it (user:base64(sha1(user:password))).
    let owner = raw(&cs, Some(SECRET)).await;
    let probe = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    bounded("create", owner.create("/digest-probe", b"", &probe)).await.expect("create the probe");
    let id = acl_of(&owner, "/digest-probe").await.remove(0).1;

    let dir = tempfile::tempdir().expect("temp dir");
    let zk_extra = format!(
        "  auth: {{ digest_file: {} }}\n  acl: 'digest:{id}:rwcda, world:anyone:r'\n",
        secret(dir.path(), "zk-digest", SECRET)
    );
    let mut a = Peer::new(adapter_config(&rmfc_config(&cs, "rm1", &zk_extra, "")));
    let written = create_everything(&mut a).await;
    for p in written.paths() {
        let acl = acl_of(&owner, &p).await;
        let want = [
            ("digest".to_string(), id.clone(), zk::Permission::ALL),
            ("world".to_string(), "anyone".to_string(), zk::Permission::READ),
        ];
        assert_eq!(acl, want, "{p}: the configured ACL, as written");
    }
    assert_locked_out(&raw(&cs, None).await, &written, true).await;
    assert_state_intact(&owner).await;
}
