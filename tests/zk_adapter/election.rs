//! Sessions and the election: generations, closing, candidates, the predecessor watch.

use super::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_events_carry_the_generation_that_produced_them() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));

    let first = a.open(1).await;
    assert_ne!(first, 0);
    let node = a.join().await;
    assert!(get(&observer, &path(&format!("election/{node}"))).await.is_some());

    // A new generation closes the old session: its ephemeral node goes at once.
    let second = a.open(2).await;
    assert_ne!(second, first, "a new generation is a new session");
    eventually("the old session's node to disappear", DEADLINE, || async {
        get(&observer, &path(&format!("election/{node}"))).await.is_none().then_some(())
    })
    .await;

    // Actions of the old generation are answered as that generation, never as the new one.
    a.zk.execute(Action::JoinElection { gen: SessionGen(1) });
    let failed = a
        .expect("JoinFailed", DEADLINE, |e| match e {
            Event::JoinFailed { gen, .. } => Some(*gen),
            Event::Joined { gen, .. } => panic!("joined as {gen:?} with an old generation's action"),
            _ => None,
        })
        .await;
    assert_eq!(failed, SessionGen(1));
    let op = a.op();
    a.zk.execute(write_action(op, SessionGen(1), "rm1_x-n_0000000000", None, 1));
    let result = a
        .expect("StateWritten", DEADLINE, |e| match e {
            Event::StateWritten { op: o, result } if *o == op => Some(result.clone()),
            _ => None,
        })
        .await;
    assert!(matches!(result, Err(WriteFailure::Unavailable(_))), "{result:?}");
    // Closing a generation ourselves is not reported as that session expiring.
    assert!(
        !a.seen.iter().any(|e| matches!(
            e,
            Event::SessionExpired { gen: SessionGen(1) } | Event::SessionDisconnected { gen: SessionGen(1) }
        )),
        "{:#?}",
        a.seen
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_removes_our_node_at_once_and_reports_nothing() {
    let server = ZkServer::start();
    let (mut a, mut b) = connected_pair(&server).await;
    let na = a.join().await;
    a.view_where("a's view with a", |c| c.iter().any(|c| c.znode == na)).await;
    let nb = b.join().await;
    b.view_where("b's view with a and b", |c| c.len() == 2).await;

    let closing = Instant::now();
    a.zk.close().await;
    // Well before the 4 s session timeout: b (watching a) is told.
    let view = b.view_where("b's view after a closed", |c| c.len() == 1).await;
    assert_eq!(view[0].znode, nb);
    assert!(closing.elapsed() < Duration::from_secs(3), "took {:?}", closing.elapsed());
    assert!(a.zk.snapshot().await.is_err(), "no session after close");
    a.expect_none("event after close", Duration::from_millis(500), |e| {
        matches!(e, Event::SessionExpired { .. } | Event::SessionDisconnected { .. } | Event::ElectionView { .. })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_see_each_other_sorted_with_their_owners_and_protected_names() {
    let server = ZkServer::start();
    let observer = raw(&server.connect_string(), None).await;
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    let mut b = Peer::new(config(&server.connect_string(), "rm_2"));
    let (sa, sb) = (a.open(1).await, b.open(7).await);
    let na = a.join().await;
    let nb = b.join().await;
    assert!(is_protected_name(&na, "rm1"), "{na}");
    assert!(is_protected_name(&nb, "rm_2"), "{nb}");

    for peer in [&mut a, &mut b] {
        let view = peer.read_election(|c| c.len() == 2).await;
        let got: Vec<_> = view.iter().map(|c| (c.znode.as_str(), c.rm_id.as_str(), c.owner)).collect();
        assert_eq!(got, vec![(na.as_str(), "rm1", sa), (nb.as_str(), "rm_2", sb)]);
        assert!(view[0].seq < view[1].seq);
    }
    // The node holds the candidate data and, without digest auth, an open ACL.
    let (data, stat) = get(&observer, &path(&format!("election/{na}"))).await.expect("node a");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&data).unwrap()["rm_id"], "rm1");
    assert_eq!(stat.ephemeral_owner, sa);
    let (acl, _) = bounded("get_acl", observer.get_acl(&path("election"))).await.unwrap();
    assert_eq!(
        acl.iter().map(|a| (a.scheme(), a.id(), a.permission())).collect::<Vec<_>>(),
        vec![("world", "anyone", zk::Permission::ALL)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_on_the_predecessor_updates_the_next_candidate_and_only_it_and_state_reads_list_everyone() {
    let server = ZkServer::start();
    let (mut a, mut b) = connected_pair(&server).await;
    let na = a.join().await;
    let nb = b.join().await;
    b.view_where("b's view with a and b", |c| c.len() == 2).await;

    // a leaves: b, watching a, hears of it without asking.
    a.leave(&na).await;
    let view = b.view_where("b's view after a left", |c| c.len() == 1).await;
    assert_eq!(view[0].znode, nb);

    // a joins again, now after b: a watches b; b (lowest) watches nothing.
    let na = a.join().await;
    a.view_where("a's view with b and a", |c| c.len() == 2).await;
    // b hears nothing of a, but a state read lists the election as it is now (a leader judges a
    // switchover target by that list, not by its own older view).
    let snap = b.read_state().await.expect("state read");
    let listed: Vec<_> = snap.candidates.iter().map(|c| c.znode.as_str()).collect();
    assert_eq!(listed, vec![nb.as_str(), na.as_str()]);
    a.leave(&na).await;
    b.expect_none("view sent to the lowest candidate (no herd)", Duration::from_secs(1), |e| {
        matches!(e, Event::ElectionView { .. })
    })
    .await;

    // a joins again behind b; b's session goes away (closed by a new generation): a hears.
    let na = a.join().await;
    a.view_where("a's view with b and a", |c| c.len() == 2).await;
    b.open(2).await;
    let view = a.view_where("a's view after b's session closed", |c| c.iter().all(|c| c.znode != nb)).await;
    assert_eq!(view.iter().map(|c| c.znode.as_str()).collect::<Vec<_>>(), vec![na.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_never_contradicts_an_earlier_joined() {
    // The core sends ReadElection and JoinElection in one step after a (re)connect. A view listed
    // before our node existed but delivered after `Joined` would make the core take its node for
    // gone and join a second time.
    let server = ZkServer::start();
    let mut a = Peer::new(config(&server.connect_string(), "rm1"));
    let mut b = Peer::new(config(&server.connect_string(), "rm2"));
    b.open(1).await;
    b.join().await; // so a's listing needs a second round trip (stats) before its view goes out
    a.open(1).await;
    let g = a.gen;
    for round in 0..20 {
        // Both orders: the race needs the listing to go out before the create.
        if round % 2 == 0 {
            a.zk.execute(Action::ReadElection { gen: g });
            a.zk.execute(Action::JoinElection { gen: g });
        } else {
            a.zk.execute(Action::JoinElection { gen: g });
            a.zk.execute(Action::ReadElection { gen: g });
        }
        let znode = a
            .expect("Joined", DEADLINE, |e| match e {
                Event::Joined { znode, .. } => Some(znode.clone()),
                _ => None,
            })
            .await;
        a.zk.execute(Action::ReadElection { gen: g });
        a.expect("a view with our node", DEADLINE, |e| match e {
            Event::ElectionView { candidates, .. } => {
                assert!(candidates.iter().any(|c| c.znode == znode), "round {round}: view after Joined lacks {znode}");
                Some(())
            }
            _ => None,
        })
        .await;
        a.leave(&znode).await;
    }
}
