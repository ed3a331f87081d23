//! Pass 1 of loading: the YAML text into permissive mirror structs with serde.
//!
//! Every key is optional here and every duration is still a string, so that `validate` can report
//! all missing keys and bad values at once with their paths. What serde must refuse (bad YAML, an
//! unknown key, a value of the wrong type) stops this pass; the error is rewritten as one
//! [`Problem`] with the key's full path (from `serde_path_to_error`) and the line and column.
//!
//! Owns: the key names (`deny_unknown_fields` everywhere). Must not: apply defaults or judge
//! values (that is `validate`'s job, and it reports every problem, not the first).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{LogFormat, Problem};
use crate::hadoop_ipc::RequestSource;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping of configuration keys")]
pub(super) struct RawConfig {
    pub cluster_id: Option<String>,
    pub rm_id: Option<String>,
    pub resource_managers: Option<BTreeMap<String, Option<RawRm>>>,
    pub zookeeper: Option<RawZk>,
    pub health: Option<RawHealth>,
    pub transition: Option<RawTransition>,
    pub fencing: Option<RawFencing>,
    pub failover: Option<RawFailover>,
    pub admin: Option<RawAdmin>,
    pub logging: Option<RawLogging>,
    pub security: Option<super::security::RawSecurity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with admin_address and web_address")]
pub(super) struct RawRm {
    pub admin_address: Option<String>,
    pub web_address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawZk {
    pub connect: Option<String>,
    pub root: Option<String>,
    pub session_timeout: Option<String>,
    pub server_tick_time: Option<String>,
    pub auth: Option<super::zk_security::RawZkAuth>,
    pub acl: Option<String>,
    pub tls: Option<super::zk_security::RawZkTls>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawHealth {
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub rest: Option<bool>,
    pub hung_after: Option<u32>,
    pub unhealthy_after: Option<u32>,
    pub user: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawTransition {
    pub request_source: Option<RequestSource>,
    pub timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawFencing {
    pub graceful_timeout: Option<String>,
    pub methods: Option<Vec<RawFenceMethod>>,
    pub promote_unfenced: Option<bool>,
}

/// The union of every method's keys; `validate` refuses the keys that do not belong to the
/// method's `type`, so all such mistakes are reported together.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a fencing method (a mapping with a `type` key)")]
pub(super) struct RawFenceMethod {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub path: Option<String>,
    pub verify_timeout: Option<String>,
    pub command: Option<String>,
    pub timeout: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawFailover {
    pub budget: Option<u32>,
    pub window: Option<String>,
    pub cooldown: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawAdmin {
    pub listen: Option<String>,
    pub token_file: Option<String>,
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawLogging {
    pub format: Option<LogFormat>,
}

/// Path shown for problems of the document as a whole (bad YAML, not a mapping).
pub(super) const DOCUMENT: &str = "(document)";

/// Reads `text` into the mirror structs, or says what serde refused and where.
pub(super) fn decode(text: &str) -> Result<RawConfig, Problem> {
    // Syntax first, on its own: a YAML error has no meaningful key path.
    if let Err(e) = serde_yaml::from_str::<serde_yaml::Value>(text) {
        return Err(Problem { path: DOCUMENT.to_string(), reason: format!("invalid YAML: {e}") });
    }
    match serde_path_to_error::deserialize::<_, Option<RawConfig>>(serde_yaml::Deserializer::from_str(text)) {
        // An empty file is an empty mapping: `validate` then names every required key.
        Ok(raw) => Ok(raw.unwrap_or_default()),
        Err(e) => Err(problem_from(e.path(), e.inner())),
    }
}

fn problem_from(path: &serde_path_to_error::Path, inner: &serde_yaml::Error) -> Problem {
    let path_str = path.to_string();
    let shown = if path_str == "." || path_str.is_empty() { DOCUMENT.to_string() } else { path_str.clone() };
    let mut msg = inner.to_string();
    // serde_yaml prefixes its own (less precise) path and appends the position: take both off
    // and put the position back in our own words.
    if let Some(loc) = inner.location() {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(stripped) = msg.strip_suffix(&suffix) {
            msg = stripped.to_string();
        }
    }
    for ancestor in ancestors(&path_str) {
        if let Some(stripped) = msg.strip_prefix(&format!("{ancestor}: ")) {
            msg = stripped.to_string();
            break;
        }
    }
    let mut reason = reword(&msg);
    if let Some(loc) = inner.location() {
        reason.push_str(&format!(" (line {}, column {})", loc.line(), loc.column()));
    }
    Problem { path: shown, reason }
}

/// `a.b[1].c`, `a.b[1]`, `a.b`, `a`.
fn ancestors(path: &str) -> Vec<String> {
    let mut out = vec![path.to_string()];
    let mut p = path;
    while let Some(i) = p.rfind(['.', '[']) {
        p = &p[..i];
        if p.is_empty() {
            break;
        }
        out.push(p.to_string());
    }
    out
}

/// serde's standard messages in an operator's words.
fn reword(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let expected = rest.split_once(", expected ").map(|(_, e)| backticked(e)).unwrap_or_default();
        return if expected.is_empty() {
            "unknown key".to_string()
        } else {
            format!("unknown key (known keys here: {})", expected.join(", "))
        };
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        if let Some((value, e)) = rest.split_once("`, expected ") {
            return format!("{value:?} is not one of: {}", backticked(e).join(", "));
        }
    }
    if let Some(rest) = msg.strip_prefix("duplicate field `") {
        return format!("key {} appears twice", rest.trim_end_matches('`'));
    }
    msg.replace("expected u32", "expected a whole number from 0 to 4294967295")
        .replace("expected a boolean", "expected true or false")
}

/// The words between backticks in `` `a`, `b` or `c` ``.
fn backticked(s: &str) -> Vec<String> {
    s.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        decode(text).expect_err("must be refused").to_string()
    }

    #[test]
    fn serde_refusals_name_the_full_path_and_position() {
        let cases: &[(&str, &str)] = &[
            ("health:\n  intervall: 1s\n", "health.intervall: unknown key (known keys here: interval, timeout, rest, hung_after, unhealthy_after, user) (line 2, column 3)"),
            ("bogus: 1\n", "bogus: unknown key (known keys here: cluster_id, rm_id, resource_managers, zookeeper, health, transition, fencing, failover, admin, logging, security) (line 1, column 1)"),
            ("resource_managers:\n  rm1: {admin_adress: a:1}\n", "resource_managers.rm1.admin_adress: unknown key (known keys here: admin_address, web_address)"),
            ("fencing:\n  methods:\n    - type: shell\n    - type: http\n      uri: x\n", "fencing.methods[1].uri: unknown key"),
            ("health:\n  hung_after: -1\n", "health.hung_after: invalid type: integer `-1`, expected a whole number from 0 to 4294967295"),
            ("health:\n  rest: yes\n", "health.rest: invalid type: string \"yes\", expected true or false"),
            ("transition:\n  request_source: admin\n", "transition.request_source: \"admin\" is not one of: user, forced, zkfc"),
            ("logging:\n  format: xml\n", "logging.format: \"xml\" is not one of: text, json"),
            ("health: 5\n", "health: invalid type: integer `5`, expected a mapping"),
            ("- a\n- b\n", "(document): invalid type: sequence, expected a mapping of configuration keys"),
            ("health: {interval: 1s\n", "(document): invalid YAML: "),
        ];
        for (text, want) in cases {
            let got = err(text);
            assert!(got.starts_with(want), "for {text:?}\n got: {got}\nwant: {want}");
        }
    }

    #[test]
    fn empty_and_null_documents_are_empty_mappings() {
        for text in ["", "\n", "# just a comment\n", "~\n"] {
            let raw = decode(text).expect("empty is fine here");
            assert!(raw.cluster_id.is_none());
        }
    }

    #[test]
    fn ancestors_walk_up_to_the_top() {
        assert_eq!(ancestors("a.b[1].c"), ["a.b[1].c", "a.b[1]", "a.b", "a"]);
        assert_eq!(ancestors("a"), ["a"]);
    }
}
