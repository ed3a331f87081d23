//! The records: CAS-guarded state writes, corrupt records, the bounded history, health
//! reports, the state watch. (Credentials and ACLs: the `zk_security` test binary.)

use super::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_writes_are_a_cas_guarded_by_our_election_node() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    a.open(1).await;
    let own = a.join().await;

    let empty = a.read_state().await.expect("read empty state");
    assert_eq!((empty.version, &empty.state, &empty.breadcrumb), (None, &ClusterState::default(), &None));
    assert!(empty.peer_health.is_empty());
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!(empty.read_at_ms.abs_diff(wall) < 60_000, "read_at_ms is wall time");

    assert_eq!(a.write(&own, None, 1).await, Ok(()));
    let snap = a.read_state().await.unwrap();
    assert_eq!((snap.version, snap.state.epoch, snap.state.leader_znode.as_deref()), (Some(0), 1, Some(own.as_str())));
    assert_eq!(snap.breadcrumb, Some(Breadcrumb { active_rm: "rm1".into(), epoch: 1 }));
    assert_eq!(a.write(&own, Some(0), 2).await, Ok(()));

    // A stale version, or creating what exists: conflict, nothing written.
    for stale in [Some(0), None] {
        let r = a.write(&own, stale, 9).await;
        assert!(matches!(r, Err(WriteFailure::Conflict(_))), "{stale:?}: {r:?}");
    }
    // Our node gone (a deposed leader): conflict even with the right version.
    a.leave(&own).await;
    let r = a.write(&own, Some(1), 9).await;
    match r {
        Err(WriteFailure::Conflict(reason)) => assert!(reason.contains("gone"), "{reason}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let snap = a.read_state().await.unwrap();
    assert_eq!((snap.version, snap.state.epoch), (Some(1), 2));
    assert_eq!(snap.breadcrumb.map(|b| b.epoch), Some(2), "state and breadcrumb move together");
    let (_, stat) = get(&observer, &path("breadcrumb")).await.unwrap();
    assert_eq!(stat.version, 1, "the failed writes touched nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_records_are_reported_and_left_untouched() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    a.open(1).await;
    mkdir(&observer, "health").await;
    create(&observer, "state", b"{\"epoch\": oops").await;

    let err = a.read_state().await.unwrap_err();
    assert!(err.starts_with(&format!("{}: ", path("state"))), "{err}");
    let (data, stat) = get(&observer, &path("state")).await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"{\"epoch\": oops"[..], 0), "never repaired");

    let good = serde_json::to_vec(&ClusterState { epoch: 4, ..Default::default() }).unwrap();
    bounded("set", observer.set_data(&path("state"), &good, None)).await.unwrap();
    create(&observer, "breadcrumb", b"").await;
    let err = a.read_state().await.unwrap_err();
    assert!(err.starts_with(&format!("{}: ", path("breadcrumb"))), "{err}");

    // An unreadable health report is no report; the rest still reads.
    bounded("set", observer.set_data(&path("breadcrumb"), br#"{"active_rm":"rm2","epoch":4}"#, None)).await.unwrap();
    create(&observer, "health/rm2", b"garbage").await;
    let snap = a.read_state().await.expect("state readable again");
    assert_eq!((snap.state.epoch, snap.version, snap.peer_health.len()), (4, Some(1), 0));

    let view = a.zk.snapshot().await.expect("snapshot");
    assert_eq!(view.state.map(|s| s.epoch), Some(4));
    bounded("set", observer.set_data(&path("state"), b"[]", None)).await.unwrap();
    let view = a.zk.snapshot().await.expect("snapshot with a corrupt record");
    assert_eq!(view.state, None);
    assert!(view.problems.iter().any(|p| p.starts_with(&path("state"))), "{:?}", view.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_bounded_newest_last() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.history_limit = 3;
    let mut a = Peer::new(cfg);
    a.open(1).await;
    let own = a.join().await;
    let mut version = None;
    for epoch in 1..=5 {
        assert_eq!(a.write(&own, version, epoch).await, Ok(()));
        version = Some(epoch as i32 - 1);
        a.zk.execute(history_action(a.gen, "rm1", epoch));
        // Appends are best effort and unanswered: wait for each, so they stay in order.
        eventually("history entry", DEADLINE, || async {
            let (data, _) = get(&observer, &path("history")).await?;
            let items: Vec<serde_json::Value> = serde_json::from_slice(&data).unwrap();
            (items.last()?["epoch"] == epoch).then_some(())
        })
        .await;
    }
    let (data, _) = get(&observer, &path("history")).await.unwrap();
    let items: Vec<serde_json::Value> = serde_json::from_slice(&data).unwrap();
    let epochs: Vec<_> = items.iter().map(|i| i["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, vec![3, 4, 5]);
    assert!(items.iter().all(|i| i["at_ms"].as_u64().unwrap() > 0 && i["to"] == "rm1"));
    let view = a.zk.snapshot().await.unwrap();
    assert_eq!(view.history.iter().map(|h| h.entry.epoch).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert_eq!(view.candidates.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_are_published_and_read_back_with_their_age() {
    let server = ZkServer::start();
    let (a, mut b) = connected_pair(&server).await;
    for health in [PeerHealth::Dead, PeerHealth::Healthy] {
        a.zk.execute(Action::PublishHealth { gen: a.gen, health });
        let mut reports = Vec::new();
        for _ in 0..100 {
            reports = b.read_state().await.unwrap().peer_health;
            if reports.iter().any(|(rm, h, _)| rm == "rm1" && *h == health) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, _, age) = reports.iter().find(|(rm, h, _)| rm == "rm1" && *h == health).expect("report seen");
        assert!(*age < 10_000, "age {age} ms");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_watch_reports_every_change_with_the_version_it_saw() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    a.open(1).await;
    let changed = |want: Option<i32>| {
        move |e: &Event| {
            matches!(e, Event::StateChanged { gen, version } if *gen == SessionGen(1) && *version == want).then_some(())
        }
    };
    // Armed at the start of the session, before the znode exists.
    a.expect("StateChanged with no znode", DEADLINE, changed(None)).await;
    // Created, then changed by someone else (an operator): each change is reported once armed
    // again, with the version the adapter saw.
    mkdir(&observer, "health").await;
    let body = serde_json::to_vec(&ClusterState::default()).unwrap();
    create(&observer, "state", &body).await;
    a.expect("StateChanged after the create", DEADLINE, changed(Some(0))).await;
    bounded("set", observer.set_data(&path("state"), &body, None)).await.unwrap();
    a.expect("StateChanged after the change", DEADLINE, changed(Some(1))).await;
}
