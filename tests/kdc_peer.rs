//! The KDC test peer itself (tests/support/kdc.rs): a real MIT KDC on loopback issues tickets
//! from the keytabs it exports and refuses principals it does not know. The Kerberos tests of
//! rmfc (Hadoop IPC, ZooKeeper) stand on this.

mod support;

use std::process::Command;
use std::time::Duration;

use support::kdc::Kdc;

#[test]
fn the_kdc_issues_tickets_from_its_keytabs_and_refuses_strangers() {
    let kdc = Kdc::start();
    let keytab = kdc.add_principal("rmfc/localhost");
    let ccache = kdc.dir().join("rmfc.ccache");
    kdc.kinit("rmfc/localhost@RMFC.TEST", &keytab, &ccache, Duration::from_secs(600));
    let mut klist = Command::new("klist");
    klist.arg("-c").arg(&ccache);
    kdc.configure(&mut klist);
    let out = klist.output().expect("klist");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Default principal: rmfc/localhost@RMFC.TEST"), "{text}");
    assert!(text.contains("krbtgt/RMFC.TEST@RMFC.TEST"), "a TGT of our realm: {text}");

    let mut stranger = Command::new("kinit");
    stranger.args(["-k", "-t"]).arg(&keytab).arg("-c").arg(kdc.dir().join("x.ccache")).arg("nobody@RMFC.TEST");
    kdc.configure(&mut stranger);
    let out = stranger.output().expect("kinit");
    assert!(!out.status.success(), "a principal the KDC does not know gets no ticket");
}
