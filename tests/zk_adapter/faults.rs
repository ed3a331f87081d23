//! Server faults: a frozen connection, a restart within the session, a freeze past it, an
//! ensemble node lost.

use super::harness::*;

fn slow_server() -> ZkServer {
    ZkServer::builder().tick_time(200).max_session_timeout(60_000).start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_lost_in_a_frozen_connection_leaves_exactly_one_node() {
    // The create goes out to a frozen server and gets no answer; the server comes back while
    // the session lives. Whether the join finds its node by the protected name or gives up,
    // the session must end up owning exactly the node it reported (or none).
    let server = slow_server();
    let observer = raw(&server.connect_string(), None).await;
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(10);
    cfg.op_timeout = Duration::from_secs(6);
    let mut a = Peer::new(cfg);
    let id = a.open(1).await;
    let g = a.gen;
    mkdir(&observer, "election").await;

    server.stop();
    a.zk.execute(Action::JoinElection { gen: g });
    let (mut frozen, mut joined) = (true, None);
    while frozen || joined.is_none() {
        let next = a
            .expect("a disconnect or the join's outcome", DEADLINE, |e| match e {
                Event::SessionDisconnected { gen } if *gen == g => Some(None),
                Event::Joined { znode, .. } => Some(Some(Some(znode.clone()))),
                Event::JoinFailed { .. } => Some(Some(None)),
                _ => None,
            })
            .await;
        match next {
            None => {
                server.cont();
                frozen = false;
            }
            outcome => joined = outcome,
        }
    }
    let joined = joined.expect("outcome");
    eprintln!("join across a frozen connection: {joined:?}");
    let expected: Vec<String> = joined.into_iter().collect();
    let started = Instant::now();
    loop {
        let view = a.read_election(|_| true).await;
        let ours: Vec<String> = view.iter().filter(|c| c.owner == id).map(|c| c.znode.clone()).collect();
        let on_server = bounded("list", observer.list_children(&path("election"))).await.unwrap();
        if ours == expected && on_server == expected {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "session owns {ours:?}, server has {on_server:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_server_is_reported_as_a_disconnect_and_the_same_session_comes_back() {
    let server = slow_server();
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(6);
    let mut a = Peer::new(cfg);
    let id = a.open(1).await;

    server.stop();
    let frozen = Instant::now();
    a.expect_disconnect().await;
    eprintln!("disconnect reported {:?} after SIGSTOP (session timeout 6 s)", frozen.elapsed());
    assert!(frozen.elapsed() < Duration::from_secs(6), "a disconnect must be seen before the session can expire");

    server.cont();
    let again = a.expect_reconnect().await;
    assert_eq!(again, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_within_the_session_timeout_keeps_the_session_and_its_node() {
    let mut server = slow_server();
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(15);
    let mut a = Peer::new(cfg);
    let id = a.open(1).await;
    let own = a.join().await;

    server.kill();
    let killed = Instant::now();
    a.expect_disconnect().await;
    eprintln!("disconnect reported {:?} after SIGKILL", killed.elapsed());
    server.restart();
    let again = a.expect_reconnect().await;
    eprintln!("same session reconnected {:?} after SIGKILL", killed.elapsed());
    assert_eq!(again, id, "the same session comes back");
    let view = a.read_election(|c| c.len() == 1).await;
    assert_eq!(view.iter().map(|c| (c.znode.as_str(), c.owner)).collect::<Vec<_>>(), vec![(own.as_str(), id)]);
    assert_eq!(a.write(&own, None, 1).await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_freeze_expires_the_session_and_a_new_generation_recovers() {
    let server = slow_server();
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(2);
    let mut a = Peer::new(cfg);
    let first = a.open(1).await;
    let g = a.gen;

    server.stop();
    let frozen = Instant::now();
    a.expect_disconnect().await;
    let disconnected = frozen.elapsed();
    a.expect("SessionExpired", DEADLINE, |e| matches!(e, Event::SessionExpired { gen } if *gen == g).then_some(()))
        .await;
    eprintln!("session timeout 2 s: disconnect reported after {disconnected:?}, expiry after {:?}", frozen.elapsed());
    assert!(frozen.elapsed() >= Duration::from_secs(2), "not expired before the session timeout");

    server.cont();
    wait_for("the server to serve again", DEADLINE, || server.mode());
    let second = a.open(2).await;
    assert_ne!(second, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_an_ensemble_node_keeps_the_session_on_a_multi_host_connect_string() {
    let mut ensemble = ZkEnsemble::start(3);
    let mut cfg = config(&ensemble.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(8);
    let mut a = Peer::new(cfg);
    let id = a.open(1).await;
    let own = a.join().await;

    let leader = ensemble.wait_leader(DEADLINE);
    ensemble.kill(leader);
    ensemble.wait_leader(DEADLINE);
    // Whichever node the session was on, it carries on (possibly after a reconnect).
    let mut written = Err(WriteFailure::Unavailable("not tried".into()));
    let started = Instant::now();
    while written.is_err() && started.elapsed() < DEADLINE {
        // A write whose answer was lost may have landed: read the version before each try.
        if let Ok(snap) = a.read_state().await {
            written = a.write(&own, snap.version, snap.state.epoch + 1).await;
        }
        if written.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(written, Ok(()));
    let view = a.read_election(|c| c.len() == 1).await;
    assert_eq!(view.iter().map(|c| (c.znode.as_str(), c.owner)).collect::<Vec<_>>(), vec![(own.as_str(), id)]);
    assert!(!a.seen.iter().any(|e| matches!(e, Event::SessionExpired { .. })), "{:#?}", a.seen);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_entry_written_while_the_server_is_frozen_lands_once_when_it_is_back() {
    let server = slow_server();
    let observer = raw(&server.connect_string(), None).await;
    let mut cfg = config(&server.connect_string(), "rm1");
    cfg.session_timeout = Duration::from_secs(10);
    cfg.op_timeout = Duration::from_secs(1);
    let mut a = Peer::new(cfg);
    let id = a.open(1).await;
    mkdir(&observer, "health").await;

    // The append's first attempts time out against a frozen server; the session outlives it.
    server.stop();
    a.zk.execute(history_action(a.gen, "rm1", 7));
    a.expect_disconnect().await;
    server.cont();
    assert_eq!(a.expect_reconnect().await, id);
    let epochs = eventually("the entry in the journal", DEADLINE, || async {
        let (data, _) = get(&observer, &path("history")).await?;
        let items: Vec<serde_json::Value> = serde_json::from_slice(&data).ok()?;
        Some(items.iter().map(|i| i["epoch"].as_u64()).collect::<Vec<_>>()).filter(|e| !e.is_empty())
    })
    .await;
    assert_eq!(epochs, vec![Some(7)], "recorded exactly once");
}
