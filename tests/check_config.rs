//! `rmfc check-config` as an operator runs it: the shipped example is valid and shows its timing
//! budget, a broken file names every bad key and fails, a missing file is named.

mod support;

use std::path::Path;
use std::process::Output;

use support::procs::rmfc;

fn check(args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = rmfc(args).output().expect("run rmfc");
    (status.code().expect("exited"), String::from_utf8_lossy(&stdout).into(), String::from_utf8_lossy(&stderr).into())
}

fn example() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.yaml").display().to_string()
}

#[test]
fn the_example_config_is_valid_and_its_budget_is_printed() {
    let file = example();
    let (code, out, err) = check(&["check-config", "-c", &file]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    for want in [
        "cluster:   yarn-prod",
        "this RM:   rm1",
        "Timing budget",
        "RM process dead",
        "RM hung",
        "RM unhealthy",
        "controller lost",
        "self-fencing after losing ZooKeeper",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    assert!(!out.contains("warning:"), "the example uses the defaults, which must not warn:\n{out}");
}

#[test]
fn json_output_has_the_budget_and_the_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rmfc.yaml");
    let text = std::fs::read_to_string(example()).unwrap().replace("promote_unfenced: false", "promote_unfenced: true");
    std::fs::write(&file, text).unwrap();
    let (code, out, err) = check(&["check-config", "--config", file.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "stderr:\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(v["valid"], true);
    assert_eq!(v["rm_id"], "rm1");
    assert_eq!(v["timing_budget"]["kinds"].as_array().map(Vec::len), Some(4));
    assert_eq!(v["timing_budget"]["kinds"][0]["kind"], "dead_rm");
    assert_eq!(v["warnings"][0]["key"], "fencing.promote_unfenced", "{out}");
}

#[test]
fn a_broken_config_fails_naming_every_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(
        &file,
        "cluster_id: yarn-prod
rm_id: rm9
resource_managers:
  rm1: { admin_address: rm1.example.com:8033, web_address: http://rm1.example.com:8088 }
  rm2: { admin_address: 'rm2:80x', web_address: http://rm2.example.com:8088 }
zookeeper:
  connect: zk1:2181,zk2:2181,zk3:2181
health:
  interval: 1 sek
fencing:
  methods:
    - type: zk_state_store
    - type: shell
",
    )
    .unwrap();
    let name = file.display().to_string();
    let (code, out, err) = check(&["check-config", "-c", &name]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.is_empty(), "nothing on stdout for an invalid file: {out}");
    let mut lines = err.lines();
    assert_eq!(lines.next(), Some(format!("rmfc check-config: {name}:").as_str()), "{err}");
    let rest: Vec<&str> = lines.collect();
    for want in [
        "rm_id: \"rm9\" is not a key of resource_managers (known: rm1, rm2)",
        "resource_managers.rm2.admin_address: \"rm2:80x\" is not HOST:PORT (port must be a number 1-65535)",
        "health.interval: invalid duration \"1 sek\": ",
        "fencing.methods[1].command: missing (required for type shell)",
    ] {
        assert!(rest.iter().any(|l| l.starts_with(want)), "missing {want:?} in\n{err}");
    }
    assert_eq!(rest.len(), 4, "{err}");
}

#[test]
fn an_unknown_key_is_named_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.yaml");
    let text = std::fs::read_to_string(example()).unwrap().replace("  hung_after: 3", "  hung_afetr: 3");
    std::fs::write(&file, text).unwrap();
    let (code, _, err) = check(&["check-config", "-c", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("\nhealth.hung_afetr: unknown key (known keys here: interval, "), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent.yaml").display().to_string();
    let (code, out, err) = check(&["check-config", "-c", &file]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.starts_with(&format!("rmfc check-config: {file}: cannot read: ")), "{err}");
}

// ---- --yarn-site ----

fn deploy(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(name).display().to_string()
}

/// The rmfc config that describes the cluster of deploy/yarn-site-mode-a.xml.
const MATCHING: &str = "cluster_id: yarn-prod
rm_id: rm1
resource_managers:
  rm1: { admin_address: rm1.example.com:8033, web_address: http://rm1.example.com:8088 }
  rm2: { admin_address: rm2.example.com:8033, web_address: http://rm2.example.com:8088 }
zookeeper:
  connect: zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181
";

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let file = dir.path().join(name);
    std::fs::write(&file, text).unwrap();
    file.display().to_string()
}

#[test]
fn the_mode_a_snippet_fits_a_matching_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(&dir, "rmfc.yaml", MATCHING);
    let site = deploy("yarn-site-mode-a.xml");
    let (code, out, err) = check(&["check-config", "-c", &cfg, "--yarn-site", &site]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let budget = out.find("Timing budget").expect("budget printed");
    let section = out.find(&format!("\nyarn-site.xml: {site}\n")).expect("yarn-site section");
    assert!(section > budget, "the yarn-site section comes after the budget:\n{out}");
    for want in [
        "  mode: A (automatic-failover.enabled=false: the RM accepts REQUEST_BY_USER)\n",
        "  rm1  admin rm1.example.com:8033  web http://rm1.example.com:8088\n",
        "  rm2  admin rm2.example.com:8033  web http://rm2.example.com:8088\n",
        "  no findings: the RM settings fit this config\n",
    ] {
        assert!(out[section..].contains(want), "missing {want:?} in\n{out}");
    }
    assert!(!out.contains("yarn-site: "), "{out}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn the_shipped_example_config_fits_the_shipped_mode_a_snippet() {
    let (code, out, err) = check(&["check-config", "-c", &example(), "--yarn-site", &deploy("yarn-site-mode-a.xml")]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("  no findings: the RM settings fit this config\n"), "{out}");
}

#[test]
fn mode_b_merged_over_mode_a_needs_request_source_zkfc() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (deploy("yarn-site-mode-a.xml"), deploy("yarn-site-mode-b.xml"));
    let user = write(&dir, "user.yaml", MATCHING);
    let (code, out, _) = check(&["check-config", "-c", &user, "--yarn-site", &a, "--yarn-site", &b]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("  mode: B (automatic failover without an elector: the RM accepts REQUEST_BY_ZKFC)\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "\nyarn-site: error: transition.request_source is user (REQUEST_BY_USER), which an RM in mode B refuses \
             (\"Manual failover for this ResourceManager is disallowed, because automatic failover is enabled\"): set \
             transition.request_source: zkfc in {user} (or switch the RMs to mode A: \
             yarn.resourcemanager.ha.automatic-failover.enabled=false in {b})\n"
        )),
        "{out}"
    );

    let zkfc = write(&dir, "zkfc.yaml", &format!("{MATCHING}transition: {{ request_source: zkfc }}\n"));
    let (code, out, err) = check(&["check-config", "-c", &zkfc, "--yarn-site", &a, "--yarn-site", &b]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let findings: Vec<&str> = out.lines().filter(|l| l.starts_with("yarn-site: ")).collect();
    assert_eq!(findings.len(), 1, "{out}");
    assert!(findings[0].starts_with("yarn-site: note: mode B relies on a quirk of Hadoop 3.x"), "{out}");
}

#[test]
fn a_mismatching_config_fails_saying_what_to_change() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        &dir,
        "rmfc.yaml",
        &MATCHING.replace("rm2:", "rm3:").replace("rm2.example.com", "rm3.example.com").replace(
            "zookeeper:\n",
            "transition: { request_source: zkfc }\n\
             fencing: { methods: [{ type: zk_state_store, path: /yarn/ZKRMStateRoot }] }\nzookeeper:\n",
        ),
    );
    let site = deploy("yarn-site-mode-a.xml");
    let (code, out, err) = check(&["check-config", "-c", &cfg, "--yarn-site", &site]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    let findings: Vec<&str> = out.lines().filter(|l| l.starts_with("yarn-site: ")).collect();
    let want = [
        format!(
            "yarn-site: error: transition.request_source is zkfc (REQUEST_BY_ZKFC), which an RM in mode A \
             (yarn.resourcemanager.ha.automatic-failover.enabled=false) refuses (\"...denied since automatic failover \
             is not enabled\"): set transition.request_source: user in {cfg} (or switch the RMs to mode B: \
             deploy/yarn-site-mode-b.xml)"
        ),
        format!(
            "yarn-site: error: RM \"rm2\" is in yarn.resourcemanager.ha.rm-ids (rm1,rm2) in {site} but not in \
             resource_managers: add resource_managers.rm2 (admin_address: rm2.example.com:8033, web_address: \
             http://rm2.example.com:8088) to {cfg}, and run an rmfc daemon beside it"
        ),
        format!(
            "yarn-site: error: resource_managers.rm3 in {cfg} is not an RM of yarn.resourcemanager.ha.rm-ids \
             (rm1,rm2) in {site}: remove it from {cfg}, or add rm3 to yarn.resourcemanager.ha.rm-ids (with \
             yarn.resourcemanager.hostname.rm3) in {site}"
        ),
        format!(
            "yarn-site: error: fencing.methods[0].path is /yarn/ZKRMStateRoot in {cfg}, but the RMs' ZKRMStateStore \
             root is /rmstore/ZKRMStateRoot (yarn.resourcemanager.zk-state-store.parent-path not set: /rmstore, + \
             /ZKRMStateRoot): rmfc would verify the fencing on the wrong znode; set fencing.methods[0].path: \
             /rmstore/ZKRMStateRoot in {cfg}"
        ),
    ];
    assert_eq!(findings, want, "{out}");
    assert_eq!(
        err,
        format!("rmfc check-config: the RM settings do not fit {cfg}: 4 errors (the yarn-site: error: lines above)\n")
    );
}

#[test]
fn the_default_embedded_elector_fails_and_json_carries_the_findings() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(&dir, "rmfc.yaml", MATCHING);
    let text = std::fs::read_to_string(deploy("yarn-site-mode-a.xml")).unwrap();
    let defaults: String =
        text.lines().filter(|l| !l.contains("automatic-failover.enabled")).map(|l| format!("{l}\n")).collect();
    let site = write(&dir, "yarn-site.xml", &defaults);
    let (code, out, err) = check(&["check-config", "-c", &cfg, "--yarn-site", &site, "--json"]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(v["valid"], true, "the rmfc config itself is valid");
    let y = &v["yarn_site"];
    assert_eq!(y["files"][0], site.as_str());
    assert_eq!(y["ok"], false);
    assert_eq!(y["mode"], "embedded_elector");
    assert_eq!(y["errors"], 1);
    assert_eq!(y["rm_ids"], serde_json::json!(["rm1", "rm2"]));
    assert_eq!(y["resource_managers"]["rm1"]["admin_address"], "rm1.example.com:8033");
    assert_eq!(y["findings"][0]["severity"], "error");
    let message = y["findings"][0]["message"].as_str().unwrap();
    for want in [
        "yarn.resourcemanager.ha.automatic-failover.enabled=true (not set: Hadoop's default)",
        "which would fight rmfc over which RM is active",
        &format!("For mode A (recommended) set yarn.resourcemanager.ha.automatic-failover.enabled=false in {site}"),
        &format!("set transition.request_source: zkfc in {cfg}"),
    ] {
        assert!(message.contains(want), "missing {want:?} in {message}");
    }
    assert!(
        err.starts_with("rmfc check-config: yarn-site: error: yarn.resourcemanager.ha.automatic-failover"),
        "{err}"
    );
}

#[test]
fn an_unreadable_or_broken_yarn_site_fails_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(&dir, "rmfc.yaml", MATCHING);
    let absent = dir.path().join("absent.xml").display().to_string();
    let (code, out, _) = check(&["check-config", "-c", &cfg, "--yarn-site", &absent]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("\nyarn-site: error: {absent}: cannot read: ")), "{out}");

    let broken =
        write(&dir, "broken.xml", "<configuration>\n  <property><name>a</name><value>b</value>\n</configuration>\n");
    let (code, out, _) = check(&["check-config", "-c", &cfg, "--yarn-site", &broken]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("\nyarn-site: error: {broken}:3: </configuration> closes <property>\n")), "{out}");
}

// ---- --yarn-site on a Kerberized cluster ----

#[test]
#[cfg_attr(not(feature = "kerberos"), ignore = "a Kerberos config loads only with the kerberos feature")]
fn the_kerberos_examples_load_and_fit_each_other() {
    let cfg = deploy("rmfc-kerberos.yaml");
    let (code, out, err) = check(&["check-config", "-c", &cfg]);
    assert_eq!(code, 0, "deploy/rmfc-kerberos.yaml must load on its own:\nstdout:\n{out}\nstderr:\n{err}");

    let (core, a, kerberos) =
        (deploy("core-site-kerberos.xml"), deploy("yarn-site-mode-a.xml"), deploy("yarn-site-kerberos.xml"));
    let (code, out, err) =
        check(&["check-config", "-c", &cfg, "--yarn-site", &core, "--yarn-site", &a, "--yarn-site", &kerberos]);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains(&format!("\nyarn-site.xml: {core}, {a}, {kerberos}\n")), "{out}");
    assert!(out.contains("  no findings: the RM settings fit this config\n"), "{out}");
}

/// A Kerberized cluster's core-site.xml and yarn-site.xml (mode A), whose admin ACL leaves rmfc
/// out and whose store ACL grants only SASL: the directory, then both files.
fn kerberized_fixture() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let core = write(
        &dir,
        "core-site.xml",
        "<configuration>
  <property><name>hadoop.security.authentication</name><value>kerberos</value></property>
  <property><name>hadoop.rpc.protection</name><value>privacy</value></property>
</configuration>
",
    );
    let text = std::fs::read_to_string(deploy("yarn-site-mode-a.xml")).unwrap();
    let site = write(
        &dir,
        "yarn-site.xml",
        &text.replace(
            "</configuration>",
            "  <property><name>yarn.resourcemanager.principal</name><value>rm/_HOST@EXAMPLE.COM</value></property>
  <property><name>yarn.admin.acl</name><value>yarn hadoop</value></property>
  <property><name>hadoop.zk.auth</name><value>digest:rm-store:s3cret</value></property>
  <property><name>hadoop.zk.acl</name><value>sasl:rm:rwcda</value></property>
</configuration>",
        ),
    );
    (dir, core, site)
}

#[test]
fn a_kerberized_cluster_refuses_a_simple_rmfc() {
    let (dir, core, site) = kerberized_fixture();

    // rmfc without Kerberos: the RMs refuse it (their access lists are moot until that is fixed),
    // and, independently, it cannot read their store.
    let simple = write(&dir, "simple.yaml", MATCHING);
    let (code, out, err) = check(&["check-config", "-c", &simple, "--yarn-site", &core, "--yarn-site", &site]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    let findings: Vec<&str> = out.lines().filter(|l| l.starts_with("yarn-site: ")).collect();
    assert_eq!(findings.len(), 2, "{out}");
    assert!(findings[1].starts_with("yarn-site: error: hadoop.zk.acl=sasl:rm:rwcda "), "{out}");
    assert_eq!(
        findings[0],
        format!(
            "yarn-site: error: hadoop.security.authentication=kerberos (in {core}): the RMs accept only Kerberos (SASL \
             GSSAPI) callers, but security.authentication is simple in {simple}, so every HA call would be refused \
             (\"SIMPLE authentication is not enabled.  Available:[TOKEN, KERBEROS]\"); set security.authentication: \
             kerberos in {simple}, with security.principal (rmfc's own, e.g. rmfc/_HOST@EXAMPLE.COM), \
             security.keytab and security.rm_principal: rm/_HOST@EXAMPLE.COM (see deploy/rmfc-kerberos.yaml){}",
            if cfg!(feature = "kerberos") { "" } else { "; and run an rmfc built with the kerberos feature (this one is not)" }
        ),
        "{out}"
    );
}

#[test]
#[cfg_attr(not(feature = "kerberos"), ignore = "a Kerberos config loads only with the kerberos feature")]
fn a_kerberized_cluster_tells_a_kerberos_rmfc_what_to_change() {
    let (dir, core, site) = kerberized_fixture();
    // rmfc with Kerberos, but the wrong RM principal and protection, an ACL without it and no
    // credentials for the store.
    let kerberos = write(
        &dir,
        "kerberos.yaml",
        &format!(
            "{MATCHING}security:
  authentication: kerberos
  principal: rmfc/_HOST@EXAMPLE.COM
  keytab: /etc/security/keytabs/rmfc.service.keytab
  rm_principal: yarn/_HOST@EXAMPLE.COM
"
        ),
    );
    let (code, out, err) = check(&["check-config", "-c", &kerberos, "--yarn-site", &core, "--yarn-site", &site]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    let findings: Vec<&str> = out.lines().filter(|l| l.starts_with("yarn-site: ")).collect();
    let want = [
        format!(
            "yarn-site: error: yarn.resourcemanager.principal is rm/_HOST@EXAMPLE.COM (in {site}), but \
             security.rm_principal is yarn/_HOST@EXAMPLE.COM in {kerberos}: for rm1 rmfc would expect \
             yarn/rm1.example.com@EXAMPLE.COM where the RM logs in as rm/rm1.example.com@EXAMPLE.COM (and likewise \
             for rm2), and rmfc refuses an RM that is not the principal it expects (the KDC may not even know \
             yarn/rm1.example.com@EXAMPLE.COM), so every HA call would fail; set security.rm_principal: \
             rm/_HOST@EXAMPLE.COM in {kerberos}"
        ),
        format!(
            "yarn-site: error: hadoop.rpc.protection=privacy (in {core}): the RMs offer privacy, but rmfc accepts \
             only authentication (security.rpc_protection in {kerberos}; authentication when not set), so no \
             connection can agree on a protection and rmfc refuses every RM; set security.rpc_protection: privacy \
             in {kerberos} (or add authentication to hadoop.rpc.protection in {core} on every RM)"
        ),
        format!(
            "yarn-site: error: hadoop.zk.acl=sasl:rm:rwcda (in {site}) grants read on the RMs' store root only to \
             sasl:rm:rwcda (the RMs authenticate to ZooKeeper as digest:rm-store by hadoop.zk.auth in {site}), and \
             rmfc's ZooKeeper session has no credentials (zookeeper.auth is not set in {kerberos}): \
             fencing.methods[0] (zk_state_store) in {kerberos} cannot read the store root's ACL (NoAuth), so no \
             promotion could be confirmed fenced and rmfc would not fail over; add an entry for rmfc with read to \
             hadoop.zk.acl in {site}, e.g. digest:rmfc:HASH:r (HASH from `java -cp zookeeper.jar \
             org.apache.zookeeper.server.auth.DigestAuthenticationProvider USER:PASSWORD`), and set \
             zookeeper.auth.digest_file in {kerberos} to a file holding rmfc:PASSWORD"
        ),
        format!(
            "yarn-site: warning: yarn.admin.acl=\"yarn hadoop\" (in {site}) does not list rmfc, the user the RMs make \
             of rmfc's principal rmfc/rm1.example.com@EXAMPLE.COM (security.principal in {kerberos}) under Hadoop's \
             DEFAULT auth_to_local rule when EXAMPLE.COM is their default realm: unless rmfc is the user the RMs \
             run as or a member of group hadoop, every HA call may be refused (AccessControlException); add rmfc to \
             yarn.admin.acl in {site}"
        ),
    ];
    assert_eq!(findings, want, "{out}");
    assert!(!out.contains("s3cret"), "the ZooKeeper password is never shown:\n{out}");
    assert_eq!(
        err,
        format!(
            "rmfc check-config: the RM settings do not fit {kerberos}: 3 errors (the yarn-site: error: lines above)\n"
        )
    );
}
