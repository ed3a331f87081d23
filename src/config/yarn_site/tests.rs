//! The checks as specifications: deploy/'s snippets fit a matching config, and one row per
//! finding saying what it must tell the operator.

use super::*;
use crate::config::tests::MINIMAL;

pub(super) const MODE_A: &str = include_str!("../../../deploy/yarn-site-mode-a.xml");
const MODE_B: &str = include_str!("../../../deploy/yarn-site-mode-b.xml");

/// The rmfc config that matches deploy/yarn-site-mode-a.xml.
pub(super) fn config(extra: &str) -> Config {
    let yaml = MINIMAL.replace(
        "connect: zk1:2181,zk2:2181,zk3:2181",
        "connect: zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181",
    );
    Config::from_yaml_str(&format!("{yaml}{extra}")).expect("valid test config")
}

/// `<configuration>` with these properties.
pub(super) fn xml(props: &[(&str, &str)]) -> String {
    let mut s = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
    for (k, v) in props {
        s.push_str(&format!("  <property>\n    <name>{k}</name>\n    <value>{v}</value>\n  </property>\n"));
    }
    s.push_str("</configuration>\n");
    s
}

/// The properties of these files, merged in order as Hadoop merges them.
pub(super) fn props_of(texts: &[&str]) -> Vec<(String, String)> {
    let mut site = YarnSite::default();
    for (i, text) in texts.iter().enumerate() {
        site.add(&format!("{i}.xml"), text).unwrap();
    }
    site.props.iter().map(|(k, p)| (k.clone(), p.value.clone())).collect()
}

/// Property changes: `Some(v)` sets, `None` removes.
pub(super) type Changes = &'static [(&'static str, Option<&'static str>)];

/// `props` with `changes` applied, as one file named yarn-site.xml.
pub(super) fn site_from(mut props: Vec<(String, String)>, changes: &[(&str, Option<&str>)]) -> YarnSite {
    for (k, v) in changes {
        props.retain(|(pk, _)| pk != k);
        if let Some(v) = v {
            props.push((k.to_string(), v.to_string()));
        }
    }
    let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    YarnSite::parse("yarn-site.xml", &xml(&refs)).unwrap()
}

/// Mode A's properties with `changes` applied.
fn site_with(changes: &[(&str, Option<&str>)]) -> YarnSite {
    site_from(props_of(&[MODE_A]), changes)
}

pub(super) fn findings(site: &YarnSite, cfg: &Config) -> Vec<String> {
    check(site, cfg, "rmfc.yaml").findings.iter().map(ToString::to_string).collect()
}

#[test]
fn the_shipped_mode_a_snippet_matches_its_rmfc_config_with_no_findings() {
    let site = YarnSite::parse("deploy/yarn-site-mode-a.xml", MODE_A).unwrap();
    let report = check(&site, &config(""), "rmfc.yaml");
    assert_eq!(report.mode, Mode::A);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.rm_ids, ["rm1", "rm2"]);
    assert_eq!(
        report.resource_managers["rm2"],
        SiteRm {
            admin_address: Some("rm2.example.com:8033".into()),
            web_address: Some("http://rm2.example.com:8088".into())
        }
    );
}

#[test]
fn the_shipped_mode_b_snippet_merged_over_mode_a_is_mode_b() {
    let mut site = YarnSite::parse("a.xml", MODE_A).unwrap();
    site.add("b.xml", MODE_B).unwrap();
    let report = check(&site, &config("transition: { request_source: zkfc }\n"), "rmfc.yaml");
    assert_eq!(report.mode, Mode::B);
    let text: Vec<String> = report.findings.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 1, "{text:#?}");
    assert!(text[0].starts_with("yarn-site: note: mode B relies on a quirk of Hadoop 3.x"), "{text:#?}");
}

/// One row per finding: the yarn-site changes, extra rmfc YAML, and the one finding expected
/// (its full `yarn-site: SEVERITY: ...` prefix and phrases it must contain).
#[test]
fn each_finding_says_what_to_change() {
    type Row = (&'static str, Changes, &'static str, &'static str, &'static [&'static str]);
    let rows: &[Row] = &[
        (
            "HA disabled",
            &[(HA_ENABLED, None)],
            "",
            "yarn-site: error: yarn.resourcemanager.ha.enabled=false (not set: Hadoop's default): the RMs run without HA",
            &["set yarn.resourcemanager.ha.enabled=true in yarn-site.xml"],
        ),
        (
            "the default: embedded elector",
            &[(AUTO, None)],
            "",
            "yarn-site: error: yarn.resourcemanager.ha.automatic-failover.enabled=true (not set: Hadoop's default) and \
             yarn.resourcemanager.ha.automatic-failover.embedded=true (not set: Hadoop's default): every RM runs its own \
             embedded leader elector (ActiveStandbyElector), which would fight rmfc",
            &[
                "For mode A (recommended) set yarn.resourcemanager.ha.automatic-failover.enabled=false in yarn-site.xml",
                "set yarn.resourcemanager.ha.automatic-failover.embedded=false and \
                 yarn.resourcemanager.ha.curator-leader-elector.enabled=true in yarn-site.xml, and set \
                 transition.request_source: zkfc in rmfc.yaml",
            ],
        ),
        (
            "embedded Curator elector",
            &[(AUTO, Some("true")), (CURATOR, Some("true"))],
            "",
            "yarn-site: error: yarn.resourcemanager.ha.automatic-failover.enabled=true and",
            &["(Curator), which would fight rmfc"],
        ),
        (
            "RM refuses to start",
            &[(AUTO, Some("true")), (EMBEDDED, Some("false"))],
            "",
            "yarn-site: error: yarn.resourcemanager.ha.automatic-failover.enabled=true, \
             yarn.resourcemanager.ha.automatic-failover.embedded=false and \
             yarn.resourcemanager.ha.curator-leader-elector.enabled=false (not set: Hadoop's default): the RM refuses to start",
            &[
                "Set yarn.resourcemanager.ha.automatic-failover.enabled=false in yarn-site.xml (mode A",
                "or set yarn.resourcemanager.ha.curator-leader-elector.enabled=true in yarn-site.xml (mode B",
            ],
        ),
        (
            "mode A with zkfc",
            &[],
            "transition: { request_source: zkfc }\n",
            "yarn-site: error: transition.request_source is zkfc (REQUEST_BY_ZKFC), which an RM in mode A",
            &["set transition.request_source: user in rmfc.yaml"],
        ),
        (
            "mode B with user",
            &[(AUTO, Some("TRUE")), (EMBEDDED, Some("false")), (CURATOR, Some(" true "))],
            "",
            "yarn-site: error: transition.request_source is user (REQUEST_BY_USER), which an RM in mode B refuses",
            &["set transition.request_source: zkfc in rmfc.yaml"],
        ),
        (
            "mode B with forced",
            &[(AUTO, Some("true")), (EMBEDDED, Some("false")), (CURATOR, Some("true"))],
            "transition: { request_source: forced }\n",
            "yarn-site: warning: transition.request_source is forced (REQUEST_BY_USER_FORCED)",
            &["set transition.request_source: zkfc in rmfc.yaml"],
        ),
        (
            "not a boolean",
            &[(CURATOR, Some("yes"))],
            "",
            "yarn-site: warning: yarn.resourcemanager.ha.curator-leader-elector.enabled is \"yes\" in yarn-site.xml, \
             which Hadoop does not read",
            &["it uses the default, false"],
        ),
        (
            "rm-ids missing",
            &[(RM_IDS, None)],
            "",
            "yarn-site: error: yarn.resourcemanager.ha.rm-ids is not set",
            &["set yarn.resourcemanager.ha.rm-ids=rm1,rm2 in yarn-site.xml"],
        ),
        (
            "an RM rmfc does not know",
            &[(RM_IDS, Some("rm1,rm2,rm3")), ("yarn.resourcemanager.hostname.rm3", Some("rm3.example.com"))],
            "",
            "yarn-site: error: RM \"rm3\" is in yarn.resourcemanager.ha.rm-ids (rm1,rm2,rm3) in yarn-site.xml but not in resource_managers",
            &["add resource_managers.rm3 (admin_address: rm3.example.com:8033, web_address: http://rm3.example.com:8088) to rmfc.yaml"],
        ),
        (
            "an RM yarn-site does not know",
            &[(RM_IDS, Some("rm1"))],
            "",
            "yarn-site: error: resource_managers.rm2 in rmfc.yaml is not an RM of yarn.resourcemanager.ha.rm-ids (rm1)",
            &["remove it from rmfc.yaml, or add rm2 to yarn.resourcemanager.ha.rm-ids"],
        ),
        (
            "admin port differs",
            &[("yarn.resourcemanager.admin.address.rm2", Some("rm2.example.com:18033"))],
            "",
            "yarn-site: error: resource_managers.rm2.admin_address is rm2.example.com:8033 in rmfc.yaml, but \
             yarn-site.xml gives rm2.example.com:18033 (yarn.resourcemanager.admin.address.rm2)",
            &[
                "set resource_managers.rm2.admin_address: rm2.example.com:18033 in rmfc.yaml \
                 (or correct yarn.resourcemanager.admin.address.rm2 in yarn-site.xml)",
            ],
        ),
        (
            "admin from the hostname and the default port",
            &[("yarn.resourcemanager.admin.address.rm1", None), ("yarn.resourcemanager.hostname.rm1", Some("rm9.example.com"))],
            "",
            "yarn-site: error: resource_managers.rm1.admin_address is rm1.example.com:8033 in rmfc.yaml, but \
             yarn-site.xml gives rm9.example.com:8033 (yarn.resourcemanager.hostname.rm1 + the default port 8033)",
            &["set resource_managers.rm1.admin_address: rm9.example.com:8033 in rmfc.yaml (or correct \
               yarn.resourcemanager.hostname.rm1 in yarn-site.xml)"],
        ),
        (
            "no address and no hostname",
            &[("yarn.resourcemanager.admin.address.rm1", None), ("yarn.resourcemanager.hostname.rm1", None)],
            "",
            "yarn-site: error: neither yarn.resourcemanager.hostname.rm1 nor yarn.resourcemanager.admin.address.rm1 is set",
            &["set yarn.resourcemanager.hostname.rm1=rm1.example.com in yarn-site.xml"],
        ),
        (
            "HTTPS only",
            &[(HTTP_POLICY, Some("HTTPS_ONLY"))],
            "",
            "yarn-site: error: resource_managers.rm1.web_address is http://rm1.example.com:8088 in rmfc.yaml, but \
             yarn-site.xml gives https://rm1.example.com:8090 (yarn.resourcemanager.hostname.rm1 + the default port \
             8090; yarn.http.policy=HTTPS_ONLY) (the RM serves its web UI over HTTPS only)",
            &["set resource_managers.rm1.web_address: https://rm1.example.com:8090 in rmfc.yaml"],
        ),
        (
            "web port differs, REST probes off",
            &[("yarn.resourcemanager.webapp.address.rm1", Some("rm1.example.com:8089"))],
            "health: { rest: false }\n",
            "yarn-site: warning: resource_managers.rm1.web_address is http://rm1.example.com:8088",
            &["set resource_managers.rm1.web_address: http://rm1.example.com:8089"],
        ),
        (
            "wildcard address",
            &[("yarn.resourcemanager.admin.address.rm1", Some("0.0.0.0:8033"))],
            "",
            "yarn-site: warning: yarn-site.xml gives 0.0.0.0:8033 for rm1 (yarn.resourcemanager.admin.address.rm1), \
             a wildcard bind address",
            &["set yarn.resourcemanager.bind-host=0.0.0.0"],
        ),
        (
            "IP against name",
            &[("yarn.resourcemanager.admin.address.rm1", Some("10.0.0.1:8033"))],
            "",
            "yarn-site: warning: resource_managers.rm1.admin_address is rm1.example.com:8033 in rmfc.yaml, and",
            &["cannot be told without DNS"],
        ),
        (
            "ha.id of another RM",
            &[(HA_ID, Some("rm2"))],
            "",
            "yarn-site: warning: yarn.resourcemanager.ha.id is rm2 in yarn-site.xml, but rm_id is rm1 in rmfc.yaml",
            &["or set rm_id: rm2 in rmfc.yaml"],
        ),
        (
            "cluster-id missing",
            &[(CLUSTER_ID, None)],
            "",
            "yarn-site: warning: yarn.resourcemanager.cluster-id is not set",
            &["set yarn.resourcemanager.cluster-id=yarn-prod in yarn-site.xml"],
        ),
        (
            "cluster-id differs",
            &[(CLUSTER_ID, Some("other"))],
            "",
            "yarn-site: note: yarn.resourcemanager.cluster-id is other but rmfc's cluster_id is yarn-prod",
            &[],
        ),
        (
            "FileSystemRMStateStore under zk_state_store",
            &[(STORE_CLASS, Some("org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore"))],
            "",
            "yarn-site: error: fencing.methods[0] (zk_state_store) in rmfc.yaml relies on ZKRMStateStore fencing, but \
             the RMs keep their state in org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore",
            &[
                "set yarn.resourcemanager.recovery.enabled=true and \
                 yarn.resourcemanager.store.class=org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore \
                 (and hadoop.zk.address) in yarn-site.xml",
                "or replace fencing.methods[0] in rmfc.yaml with a shell or http method",
            ],
        ),
        (
            "recovery off under zk_state_store",
            &[(RECOVERY, None)],
            "",
            "yarn-site: error: fencing.methods[0] (zk_state_store) in rmfc.yaml relies on ZKRMStateStore fencing, but \
             the RMs run without a state store (yarn.resourcemanager.recovery.enabled=false (not set: Hadoop's default)",
            &["set yarn.resourcemanager.recovery.enabled=true"],
        ),
        (
            "no store, no fencing method",
            &[(RECOVERY, Some("false"))],
            "fencing: { methods: [] }\n",
            "yarn-site: warning: the RMs run without a state store",
            &["fencing.methods in rmfc.yaml is empty", "or add a shell or http fencing method"],
        ),
        (
            "store parent path differs",
            &[(STORE_PARENT, Some("/yarn/rmstore"))],
            "",
            "yarn-site: error: fencing.methods[0].path is /rmstore/ZKRMStateRoot in rmfc.yaml, but the RMs' \
             ZKRMStateStore root is /yarn/rmstore/ZKRMStateRoot \
             (yarn.resourcemanager.zk-state-store.parent-path=/yarn/rmstore in yarn-site.xml, + /ZKRMStateRoot)",
            &["set fencing.methods[0].path: /yarn/rmstore/ZKRMStateRoot in rmfc.yaml"],
        ),
        (
            "the RMs use a chroot",
            &[(ZK_ADDRESS, Some("zk3.example.com:2181,zk1.example.com,zk2.example.com:2181/hadoop"))],
            "",
            "yarn-site: error: fencing.methods[0].path is /rmstore/ZKRMStateRoot in rmfc.yaml, but the RMs' \
             ZKRMStateStore root is /rmstore/ZKRMStateRoot",
            &["(as absolute znodes: the RMs' /hadoop/rmstore/ZKRMStateRoot", "set fencing.methods[0].path: /hadoop/rmstore/ZKRMStateRoot"],
        ),
        (
            "another ensemble",
            &[(ZK_ADDRESS, Some("zk9:2181"))],
            "",
            "yarn-site: warning: the RMs keep their state store on hadoop.zk.address=zk9:2181 (in yarn-site.xml) but \
             rmfc's zookeeper.connect is zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181",
            &["make both name the same ZooKeeper servers"],
        ),
        (
            "no ZooKeeper address",
            &[(ZK_ADDRESS, None)],
            "",
            "yarn-site: warning: hadoop.zk.address is not set in yarn-site.xml: ZKRMStateStore needs it",
            &["--yarn-site core-site.xml --yarn-site yarn-site.xml"],
        ),
        (
            "the deprecated ZooKeeper key",
            &[(ZK_ADDRESS, None), (ZK_ADDRESS_OLD, Some("zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181"))],
            "",
            "yarn-site: note: yarn.resourcemanager.zk-address is deprecated",
            &["rename it hadoop.zk.address in yarn-site.xml"],
        ),
        (
            "admin ACL without rmfc's user",
            &[(ADMIN_ACL, Some("yarn,admin hadoop"))],
            "health: { user: rmfc }\n",
            "yarn-site: warning: yarn.admin.acl=\"yarn,admin hadoop\" (in yarn-site.xml) does not list rmfc",
            &["or a member of group hadoop", "add rmfc to yarn.admin.acl in yarn-site.xml"],
        ),
        (
            "admin ACL and the OS user",
            &[(ADMIN_ACL, Some("yarn"))],
            "",
            "yarn-site: warning: yarn.admin.acl=\"yarn\" (in yarn-site.xml) limits who may make HA calls",
            &["set health.user in rmfc.yaml to yarn"],
        ),
        (
            "Kerberos",
            &[(AUTHENTICATION, Some("kerberos"))],
            "",
            "yarn-site: error: hadoop.security.authentication=kerberos (in yarn-site.xml): the RMs accept only \
             Kerberos (SASL GSSAPI) callers, but security.authentication is simple in rmfc.yaml",
            &["set security.authentication: kerberos in rmfc.yaml", "deploy/rmfc-kerberos.yaml"],
        ),
        (
            "an undefined variable",
            &[("yarn.resourcemanager.hostname.rm1", Some("${env.RM1_HOST}")), ("yarn.resourcemanager.admin.address.rm1", None)],
            "",
            "yarn-site: note: yarn.resourcemanager.hostname.rm1=\"${env.RM1_HOST}\" (in yarn-site.xml) refers to ${env.RM1_HOST}",
            &["left as written"],
        ),
    ];
    for (name, changes, extra, want, phrases) in rows {
        let mut got = findings(&site_with(changes), &config(extra));
        // Mode B always carries its note; HTTPS_ONLY moves both RMs' web addresses.
        got.retain(|f| !f.contains("mode B relies on a quirk") && !f.contains("resource_managers.rm2.web_address"));
        assert_eq!(got.len(), 1, "{name}: {got:#?}");
        assert!(got[0].starts_with(want), "{name}:\n got: {}\nwant: {want}", got[0]);
        for p in *phrases {
            assert!(got[0].contains(p), "{name}: missing {p:?} in\n{}", got[0]);
        }
    }
}

#[test]
fn quiet_on_good_variants() {
    let quiet: &[(Changes, &str)] = &[
        (&[(ADMIN_ACL, Some("*"))], ""),
        (&[(ADMIN_ACL, Some("yarn,rmfc"))], "health: { user: rmfc }\n"),
        (&[(AUTO, Some("False"))], "transition: { request_source: forced }\n"),
        (&[(ZK_ADDRESS, Some("zk2.example.com:2181, zk1.example.com:2181,ZK3.example.com"))], ""),
        (&[(STORE_PARENT, Some("/rmstore/"))], ""),
        (&[("yarn.resourcemanager.admin.address.rm1", None), ("yarn.resourcemanager.webapp.address.rm1", None)], ""),
        (&[("yarn.resourcemanager.admin.address.rm1", Some("${yarn.resourcemanager.hostname.rm1}:8033"))], ""),
        (&[(HA_ID, Some("rm1"))], ""),
        (&[(AUTHENTICATION, Some("simple"))], ""),
        (
            &[(STORE_CLASS, Some("org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore"))],
            "fencing: { methods: [{ type: shell, command: /bin/true }] }\n",
        ),
    ];
    for (i, (changes, extra)) in quiet.iter().enumerate() {
        let got = findings(&site_with(changes), &config(extra));
        assert!(got.is_empty(), "case {i}: {got:#?}");
    }
}

#[test]
fn the_chroot_on_both_sides_is_compared_as_absolute_paths() {
    let site =
        site_with(&[(ZK_ADDRESS, Some("zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181/hadoop"))]);
    let cfg = Config::from_yaml_str(&format!(
        "{}fencing: {{ methods: [{{ type: zk_state_store, path: /rmstore/ZKRMStateRoot }}] }}\n",
        MINIMAL.replace(
            "connect: zk1:2181,zk2:2181,zk3:2181",
            "connect: zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181/hadoop",
        )
    ))
    .unwrap();
    assert_eq!(findings(&site, &cfg), Vec::<String>::new());
}
