//! The two sides (rmfc controllers beside sim RMs; stand-in RMs with Hadoop's embedded
//! elector) and one run of each, with the network hosts a partition run needs.

use super::measure::*;
use super::*;

// ---- rmfc ----

pub(super) struct RmfcSide {
    c: Cluster,
}

impl Side for RmfcSide {
    fn states(&self, i: usize) -> Vec<(u64, String)> {
        self.c.rms[i]
            .events()
            .into_iter()
            .filter_map(|e| match e.kind {
                SimEventKind::State { to, .. } => Some((e.ts_ms, to)),
                _ => None,
            })
            .collect()
    }
    fn kill_rm(&mut self, i: usize) {
        self.c.rms[i].kill();
    }
    fn stop_rm(&self, i: usize) {
        self.c.rms[i].stop();
    }
    fn cont_rm(&self, i: usize) {
        self.c.rms[i].cont();
    }
    fn zk(&mut self) -> &mut ZkEnsemble {
        match &mut self.c.zk {
            Zk::Ensemble(e) => e,
            Zk::Standalone(_) => panic!("quorum scenario needs an ensemble"),
        }
    }
}

// ---- embedded elector ----

pub(super) enum EmbeddedZk {
    Standalone(ZkServer),
    Ensemble(ZkEnsemble),
}

pub(super) struct EmbeddedSide {
    zk: EmbeddedZk,
    pub(super) rms: Vec<ElectorRm>,
}

impl EmbeddedSide {
    pub(super) fn start(ensemble: Option<ZkEnsemble>, hosts: Option<&[NetHost]>) -> Self {
        let zk = match ensemble {
            Some(e) => EmbeddedZk::Ensemble(e),
            None => EmbeddedZk::Standalone(ZkServer::builder().tick_time(500).start()),
        };
        let connect = match &zk {
            EmbeddedZk::Standalone(z) => z.connect_string(),
            EmbeddedZk::Ensemble(z) => z.connect_string(),
        };
        let rms = (0..2)
            .map(|i| {
                let id = format!("rm{}", i + 1);
                match hosts {
                    Some(h) => ElectorRm::start_via(h[i].command("java"), &id, &connect, CLUSTER),
                    None => ElectorRm::start(&id, &connect, CLUSTER),
                }
            })
            .collect();
        EmbeddedSide { zk, rms }
    }
}

impl Side for EmbeddedSide {
    fn states(&self, i: usize) -> Vec<(u64, String)> {
        self.rms[i].states()
    }
    fn kill_rm(&mut self, i: usize) {
        self.rms[i].kill();
    }
    fn stop_rm(&self, i: usize) {
        self.rms[i].stop();
    }
    fn cont_rm(&self, i: usize) {
        self.rms[i].cont();
    }
    fn zk(&mut self) -> &mut ZkEnsemble {
        match &mut self.zk {
            EmbeddedZk::Ensemble(e) => e,
            EmbeddedZk::Standalone(_) => panic!("quorum scenario needs an ensemble"),
        }
    }
}

// ---- one run per side ----

/// Five hosts for a partition run: two RM hosts and three ZooKeeper hosts.
pub(super) struct Hosts {
    rms: Vec<NetHost>,
    zk: Vec<NetHost>,
}

pub(super) fn make_hosts(lab: &mut NetLab, tag: &str) -> Hosts {
    let mk = |lab: &mut NetLab, n: String| lab.add_host(&n).unwrap_or_else(|e| panic!("netns host {n}: {e}"));
    Hosts {
        rms: (1..=2).map(|i| mk(lab, format!("{tag}r{i}"))).collect(),
        zk: (1..=3).map(|i| mk(lab, format!("{tag}z{i}"))).collect(),
    }
}

pub(super) fn cut(hosts: &mut Hosts, i: usize, on: bool) {
    let zk_ips: Vec<_> = hosts.zk.iter().map(NetHost::ip).collect();
    if on {
        hosts.rms[i].cut_from(&zk_ips);
    } else {
        hosts.rms[i].heal();
    }
}

pub(super) fn run_rmfc(s: Scenario, lab: &mut Option<NetLab>, tag: &str) -> Sample {
    let mut hosts = (s == Scenario::Partition).then(|| make_hosts(lab.as_mut().expect("lab"), tag));
    let placement = hosts.as_ref().map(|h| Placement {
        rms: h.rms.iter().map(NetHost::host).collect(),
        zk: h.zk.iter().map(NetHost::host).collect(),
    });
    let ensemble = matches!(s, Scenario::Partition | Scenario::QuorumLoss);
    let c = Cluster::start(ClusterOptions { rms: 2, default_timings: true, ensemble, placement, ..Default::default() });
    let mut side = RmfcSide { c };
    let mut part = |i: usize, on: bool| cut(hosts.as_mut().expect("hosts"), i, on);
    let sample = run_fault(s, &mut side, &mut part);
    drop(side);
    drop(hosts);
    sample
}

pub(super) fn run_embedded(s: Scenario, lab: &mut Option<NetLab>, tag: &str) -> Sample {
    let mut hosts = (s == Scenario::Partition).then(|| make_hosts(lab.as_mut().expect("lab"), tag));
    let ensemble = match (&hosts, s) {
        (Some(h), _) => {
            Some(ZkEnsemble::builder().tick_time(500).hosts(h.zk.iter().map(NetHost::host).collect()).start_ensemble(3))
        }
        (None, Scenario::QuorumLoss) => Some(ZkEnsemble::builder().tick_time(500).start_ensemble(3)),
        _ => None,
    };
    let mut side = EmbeddedSide::start(ensemble, hosts.as_ref().map(|h| h.rms.as_slice()));
    let mut part = |i: usize, on: bool| cut(hosts.as_mut().expect("hosts"), i, on);
    let sample = run_fault(s, &mut side, &mut part);
    drop(side);
    drop(hosts);
    sample
}
