//! A Kerberized cluster end to end: a real MIT KDC, a real ZooKeeper, two of Hadoop's own secure
//! RPC servers as the RMs (`SecureHaServer`, `hadoop.rpc.protection=privacy`) and two `rmfc run`
//! daemons with `security.authentication: kerberos`, each logged in from its keytab with tickets
//! that live only 6 s. The leader's RM is promoted by a call the RM authenticated as rmfc's
//! principal; after the tickets have expired several times over, the active RM dies and the other
//! is promoted over a new connection — the login renewed itself from the keytab, no kinit.
//! And a daemon whose keytab is unusable refuses to start, naming it.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::hadoop_secure::SecureHaServer;
use support::kdc::{Kdc, PrincipalOpts};
use support::procs::rmfc;
use support::wait::wait_until;
use support::zk::ZkServer;

const TICKET_LIFE: Duration = Duration::from_secs(6);

fn config(zk: &str, rm_id: &str, rms: &[String; 2], keytab: &Path) -> String {
    format!(
        "cluster_id: secure\nrm_id: {rm_id}\nresource_managers:\n  rm1: {{ admin_address: '{}', web_address: 'http://127.0.0.1:1' }}\n  rm2: {{ admin_address: '{}', web_address: 'http://127.0.0.1:2' }}\nzookeeper:\n  connect: '{zk}'\n  session_timeout: 4s\n  server_tick_time: 500ms\nhealth:\n  interval: 300ms\n  timeout: 2s\n  rest: false\ntransition:\n  timeout: 20s\nfencing:\n  graceful_timeout: 2s\n  methods:\n    - {{ type: shell, command: /bin/true }}\nfailover:\n  cooldown: 0s\nadmin:\n  listen: 127.0.0.1:0\nsecurity:\n  authentication: kerberos\n  principal: rmfc/_HOST@RMFC.TEST\n  keytab: {}\n  rm_principal: rm/_HOST@RMFC.TEST\n  rpc_protection: privacy\n",
        rms[0],
        rms[1],
        keytab.display()
    )
}

struct Daemon {
    child: Child,
    log: std::path::PathBuf,
}

impl Daemon {
    fn start(kdc: &Kdc, dir: &Path, name: &str, yaml: &str) -> Daemon {
        let cfg = dir.join(format!("{name}.yaml"));
        std::fs::write(&cfg, yaml).expect("write config");
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log");
        let mut cmd: Command = rmfc(&["run", "-c", cfg.to_str().expect("utf-8")]);
        kdc.configure(&mut cmd);
        let child = cmd
            .env("RUST_LOG", "info,rmfc=debug")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("dup"))
            .stderr(file)
            .spawn()
            .expect("spawn rmfc run");
        Daemon { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn promoted(rm: &SecureHaServer) -> Vec<String> {
    rm.authenticated().into_iter().filter(|a| a.method == "transitionToActive").map(|a| a.user).collect()
}

#[test]
fn a_kerberized_cluster_fails_over_after_its_tickets_expired() {
    let kdc = Kdc::start();
    let rm_keytab = kdc.add_principal("rm/localhost");
    let rmfc_keytab = kdc.add_principal_with("rmfc/localhost", PrincipalOpts { max_life: Some(TICKET_LIFE) });
    let zk = ZkServer::builder().tick_time(500).start();
    let mut rms: Vec<SecureHaServer> =
        (0..2).map(|_| SecureHaServer::start(&kdc, "rm/localhost@RMFC.TEST", &rm_keytab, "privacy")).collect();
    let addrs = [rms[0].addr(), rms[1].addr()];
    let dir = tempfile::tempdir().expect("temp dir");
    let daemons: Vec<Daemon> = ["rm1", "rm2"]
        .iter()
        .map(|id| Daemon::start(&kdc, dir.path(), id, &config(&zk.connect_string(), id, &addrs, &rmfc_keytab)))
        .collect();
    let logs = || daemons.iter().map(Daemon::log).collect::<Vec<_>>().join("\n----\n");

    let first = support::wait::poll_until(Duration::from_secs(60), || (0..2).find(|&i| !promoted(&rms[i]).is_empty()))
        .unwrap_or_else(|| panic!("no RM was promoted; daemons:\n{}", logs()));
    assert_eq!(promoted(&rms[first])[0], "rmfc/localhost@RMFC.TEST", "promoted by rmfc's principal");
    let other = 1 - first;
    assert!(promoted(&rms[other]).is_empty(), "one active RM");
    // Both daemons probe their RMs over Kerberos: the standby's controller too.
    rms[other].wait_authenticated("getServiceStatus");

    // Let every ticket obtained so far expire (and the KDC's clock skew pass).
    let since = Instant::now();
    wait_until("rmfc's first tickets to be long expired", TICKET_LIFE * 4, || since.elapsed() > TICKET_LIFE * 3);

    rms[first].kill();
    wait_until("the other RM to be promoted", Duration::from_secs(60), || !promoted(&rms[other]).is_empty());
    assert_eq!(promoted(&rms[other])[0], "rmfc/localhost@RMFC.TEST", "a fresh ticket, from the keytab");
    assert!(!logs().contains("Kerberos authentication failed"), "no authentication failure on the way:\n{}", logs());
}

#[test]
fn a_daemon_with_an_unusable_keytab_refuses_to_start_and_names_it() {
    let kdc = Kdc::start();
    let other = kdc.add_principal("someone/localhost");
    let dir = tempfile::tempdir().expect("temp dir");
    let addrs = ["localhost:1".to_string(), "localhost:2".to_string()];
    for (keytab, want) in [
        (dir.path().join("absent.keytab"), "cannot read it"),
        (other.clone(), "Kerberos login as rmfc/localhost@RMFC.TEST"),
    ] {
        // A ZooKeeper address nobody listens on: the login comes first and must stop the start.
        let mut d = Daemon::start(&kdc, dir.path(), "bad", &config("127.0.0.1:9", "rm1", &addrs, &keytab));
        let status = support::wait::wait_for("the daemon to exit", Duration::from_secs(30), || {
            d.child.try_wait().ok().flatten()
        });
        let log = d.log();
        assert!(!status.success(), "{log}");
        assert!(log.contains(want) && log.contains(&keytab.display().to_string()), "want {want:?}: {log}");
    }
}
