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
