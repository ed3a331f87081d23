//! `rmfc status`, `history`, `pause` and `resume` as an operator runs them, against a tiny fake
//! admin API served from the test (canned answers; every request it receives is recorded): the
//! tables, `--json` passed through, the request bodies and bearer token sent, `-c` deriving the
//! URL and token from a config, and the exit codes (0 done, 1 refused, 2 usage, 3 failed).
//!
//! End-to-end runs against real daemons live in the operator tests; these pin the client side.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::procs::rmfc;

/// One request as the fake server received it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What the fake answers: `Some((status, body))`, or `None` to never answer (the client times out).
type Answer = dyn Fn(&Request) -> Option<(u16, String)> + Send + Sync;

struct Fake {
    url: String,
    port: u16,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl Fake {
    fn start(answer: impl Fn(&Request) -> Option<(u16, String)> + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake admin API");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let log = seen.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (answer, log) = (answer.clone(), log.clone());
                std::thread::spawn(move || serve(conn, &*answer, &log));
            }
        });
        Fake { url: format!("http://127.0.0.1:{port}"), port, seen }
    }

    fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    fn only_request(&self) -> Request {
        let all = self.requests();
        assert_eq!(all.len(), 1, "expected exactly one request, got {all:?}");
        all.into_iter().next().unwrap()
    }
}

fn serve(conn: TcpStream, answer: &Answer, log: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone the connection"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0usize);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let request = Request { method, path, headers, body: String::from_utf8_lossy(&body).into() };
    let reply = answer(&request);
    log.lock().unwrap().push(request);
    let mut conn = conn;
    match reply {
        Some((status, body)) => {
            let _ = write!(
                conn,
                "HTTP/1.1 {status} Canned\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
        // Hold the connection open without a word until the client gives up.
        None => {
            let _ = reader.read_to_end(&mut Vec::new());
        }
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    let Output { status, stdout, stderr } = rmfc(args).output().expect("run rmfc");
    (status.code().expect("exited"), String::from_utf8_lossy(&stdout).into(), String::from_utf8_lossy(&stderr).into())
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Shaped like `admin::status::ClusterStatus` as the daemon serializes it, in its field order
/// (a literal: a `serde_json::Value` would sort the keys, and `--json` must keep them).
const CLUSTER_STATUS: &str = r#"{"cluster":"yarn-test","this_rm":"rm2",
"this_daemon":{"role":"follower","role_detail":null,"leader":false,"session_connected":true,"health":"healthy",
"rm_state":"standby","epoch":4,"drift_corrections":0,"budget_remaining":3},
"leader":"rm1","active_rm":"rm1","epoch":4,"rms":[
{"id":"rm1","ha_state":"active","health":"healthy","health_age_ms":800,"candidate":true,"leader":true},
{"id":"rm2","ha_state":"standby","health":"healthy","health_age_ms":1500,"candidate":true,"leader":false},
{"id":"rm3","ha_state":"down (connection refused)","health":"dead","health_age_ms":61000,"candidate":false,"leader":false}],
"paused":null,"pending_switchover":null,"failover_budget_remaining":3,"worst_case_failover_seconds":23.5,
"problems":["rm3 is not a candidate: its RM is dead"]}"#;

fn cluster_status() -> Value {
    serde_json::from_str(CLUSTER_STATUS).unwrap()
}

fn journal() -> Value {
    let entry = |epoch: u64, at_ms: u64, trigger: Value, from: Value, to: &str, outcome: &str| {
        json!({"epoch": epoch, "trigger": trigger, "from": from, "to": to, "fenced_by": "graceful",
               "outcome": outcome, "fence_ms": 140, "promote_ms": 2300, "at_ms": at_ms})
    };
    // The journal znode keeps the newest last. 2024-05-01 11:00, 11:30, 12:00 UTC.
    json!({"cluster": "yarn-test", "history": [
        entry(1, 1_714_561_200_000, json!({"kind": "startup"}), Value::Null, "rm1", "promoted"),
        entry(2, 1_714_563_000_000, json!({"kind": "failover", "previous": "rm1"}), json!("rm1"), "rm2", "promoted"),
        entry(3, 1_714_564_800_000, json!({"kind": "reassert"}), json!("rm2"), "rm2", "promoted"),
    ], "problems": []})
}

/// The fake daemon: status, history, pause (echoing a 30-minute pause) and resume.
fn daemon() -> Fake {
    Fake::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/status") => Some((200, CLUSTER_STATUS.into())),
        ("GET", "/v1/history") => Some((200, journal().to_string())),
        ("POST", "/v1/pause") => {
            let asked: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            let now = now_ms();
            let until = asked.get("for").map(|_| now + 30 * 60_000);
            let pause = json!({"by": "token holder at 127.0.0.1", "reason": asked["reason"], "since_ms": now,
                               "until_ms": until});
            Some((200, json!({ "paused": pause }).to_string()))
        }
        ("POST", "/v1/resume") => Some((200, r#"{"paused":null}"#.into())),
        _ => Some((404, r#"{"error":"no such endpoint"}"#.into())),
    })
}

#[test]
fn status_is_a_readable_table() {
    let fake = daemon();
    let (code, out, err) = run(&["status", "--admin", &fake.url]);
    assert_eq!(code, 0, "stderr:\n{err}");
    for want in [
        "cluster:             yarn-test\n",
        "leader:              rm1\n",
        "active RM:           rm1\n",
        "epoch:               4\n",
        "paused:              no\n",
        "pending switchover:  none\n",
        "failover budget:     3 automatic failover(s) left\n",
        "worst-case failover: 23.5s\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let rows = "
RM   HA STATE (probed)          HEALTH (reported)    CANDIDATE  LEADER
rm1  active                     healthy (800ms ago)  yes        *
rm2  standby                    healthy (1.5s ago)   yes
rm3  down (connection refused)  dead (1m 1s ago)     no

this daemon: rm2, role follower, session connected, local RM healthy (standby)
! rm3 is not a candidate: its RM is dead
";
    assert!(out.ends_with(rows), "want the table\n{rows}\nin\n{out}");
    let req = fake.only_request();
    assert_eq!((req.method.as_str(), req.path.as_str()), ("GET", "/v1/status"));
    assert_eq!(req.header("authorization"), None, "a read call sends no token unless given one");
}

#[test]
fn json_prints_the_daemons_document_as_sent() {
    let fake = daemon();
    let (code, out, err) = run(&["status", "--admin", &format!("{}/", fake.url), "--json"]);
    assert_eq!(code, 0, "stderr:\n{err}");
    let got: Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(got, cluster_status());
    // The daemon's key order, not an alphabetical one; pretty.
    let at = |k: &str| out.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("{k} missing in\n{out}"));
    assert!(at("cluster") < at("this_rm") && at("this_rm") < at("rms") && at("rms") < at("paused"), "{out}");
    assert!(out.starts_with("{\n  \"cluster\": \"yarn-test\",\n"), "{out}");
    assert!(!out.contains("HA STATE"));

    let (code, out, _) = run(&["history", "--admin", &fake.url, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out).expect("JSON"), journal());
}

#[test]
fn history_is_newest_first_and_limited() {
    let fake = daemon();
    let (code, out, err) = run(&["history", "--admin", &fake.url]);
    assert_eq!(code, 0, "stderr:\n{err}");
    let want = "\
TIME (UTC)           EPOCH  TRIGGER              FROM → TO  FENCED BY  FENCE  PROMOTE  OUTCOME
2024-05-01 12:00:00  3      reassert             rm2 → rm2  graceful   140ms  2.3s     promoted
2024-05-01 11:30:00  2      failover (rm1 gone)  rm1 → rm2  graceful   140ms  2.3s     promoted
2024-05-01 11:00:00  1      startup              - → rm1    graceful   140ms  2.3s     promoted
";
    assert_eq!(out, want, "got:\n{out}");
    let (code, out, _) = run(&["history", "--admin", &fake.url, "--limit", "2"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 4, "header, 2 rows, the note:\n{out}");
    assert!(!out.contains("startup") && out.contains("(the newest 2 of 3; see --limit)"), "{out}");
    assert_eq!(fake.requests().iter().filter(|r| r.path == "/v1/history").count(), 2);
}

#[test]
fn pause_sends_the_reason_the_duration_and_the_token() {
    let fake = daemon();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let (code, out, err) = run(&[
        "pause",
        "--admin",
        &fake.url,
        "--reason",
        "rm1 maintenance",
        "--for",
        "30m",
        "--token-file",
        token.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stderr:\n{err}");
    let req = fake.only_request();
    assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/v1/pause"));
    assert_eq!(req.header("authorization"), Some("Bearer s3cret-token"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&req.body).expect("the body is JSON");
    assert_eq!(body, json!({"reason": "rm1 maintenance", "for": "30m"}));
    assert!(
        out.starts_with("automatic failover paused: rm1 maintenance (by token holder at 127.0.0.1, since "),
        "{out}"
    );
    assert!(out.contains(" UTC, in 29m") || out.contains(" UTC, in 30m"), "{out}");

    // Without --for, no "for" key: the pause lasts until resumed.
    let fake = daemon();
    let (code, out, _) = run(&["pause", "--admin", &fake.url, "--reason", "upgrade"]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&fake.only_request().body).unwrap(), json!({"reason": "upgrade"}));
    assert!(out.contains("until resumed"), "{out}");
}

#[test]
fn a_refusal_exits_1_with_the_daemons_reason() {
    let fake = Fake::start(|_| Some((400, r#"{"error":"reason is required"}"#.into())));
    let (code, out, err) = run(&["pause", "--admin", &fake.url, "--reason", " "]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("rmfc pause: refused (400 Bad Request): reason is required"), "{err}");
    assert!(out.is_empty(), "{out}");
    // With --json, a script also gets the daemon's own words on stdout.
    let (code, out, _) = run(&["pause", "--admin", &fake.url, "--reason", " ", "--json"]);
    assert_eq!(code, 1);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!({"error": "reason is required"}));

    let fake = Fake::start(|_| Some((401, r#"{"error":"wrong bearer token"}"#.into())));
    let (code, _, err) = run(&["resume", "--admin", &fake.url]);
    assert_eq!(code, 1);
    assert!(err.contains("wrong bearer token"), "{err}");
}

#[test]
fn failures_exit_3() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let (code, _, err) = run(&["status", "--admin", &closed]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("rmfc status: failed: cannot connect to"), "{err}");

    let cases: [(&str, u16, &str, &str); 4] = [
        ("a 5xx", 503, r#"{"error":"cannot read the journal from ZooKeeper"}"#, "503"),
        ("not JSON", 200, "<html>hello</html>", "not JSON"),
        ("JSON of the wrong kind", 200, "[1, 2, 3]", "answered JSON that is not"),
        ("a redirect", 302, "", "redirects are not followed"),
    ];
    for (what, status, body, want) in cases {
        let body = body.to_string();
        let fake = Fake::start(move |_| Some((status, body.clone())));
        let (code, out, err) = run(&["history", "--admin", &fake.url]);
        assert_eq!(code, 3, "{what}: stdout:\n{out}\nstderr:\n{err}");
        assert!(err.contains(want), "{what}: {err}");
    }

    let silent = Fake::start(|_| None);
    let (code, _, err) = run(&["resume", "--admin", &silent.url, "--timeout", "300ms"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no answer within 300ms"), "{err}");
}

fn write_config(dir: &std::path::Path, listen: &str, token_file: Option<&std::path::Path>) -> String {
    let token = token_file.map(|t| format!(", token_file: {}", t.display())).unwrap_or_default();
    let text = format!(
        "cluster_id: yarn-test\n\
         rm_id: rm1\n\
         resource_managers:\n  \
           rm1: {{ admin_address: 127.0.0.1:18033, web_address: http://127.0.0.1:18088 }}\n  \
           rm2: {{ admin_address: 127.0.0.1:28033, web_address: http://127.0.0.1:28088 }}\n\
         zookeeper: {{ connect: 127.0.0.1:2181 }}\n\
         admin: {{ listen: '{listen}'{token} }}\n"
    );
    let file = dir.join("rmfc.yaml");
    std::fs::write(&file, text).unwrap();
    file.display().to_string()
}

#[test]
fn a_config_gives_the_url_and_the_token() {
    let fake = daemon();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("admin-token");
    std::fs::write(&token, "from-the-config\n").unwrap();
    // Every interface: reached on loopback.
    let config = write_config(dir.path(), &format!("0.0.0.0:{}", fake.port), Some(&token));

    let (code, out, err) = run(&["resume", "-c", &config]);
    assert_eq!(code, 0, "stderr:\n{err}");
    assert_eq!(out, "automatic failover resumed (not paused)\n");
    let req = fake.only_request();
    assert_eq!((req.method.as_str(), req.path.as_str(), req.body.as_str()), ("POST", "/v1/resume", "{}"));
    assert_eq!(req.header("authorization"), Some("Bearer from-the-config"));

    // Read calls leave the config's token file alone.
    let (code, out, _) = run(&["status", "--config", &config]);
    assert_eq!(code, 0);
    assert!(out.contains("cluster:             yarn-test"), "{out}");
    let status = fake.requests().into_iter().find(|r| r.path == "/v1/status").expect("a status request");
    assert_eq!(status.header("authorization"), None);

    // --token-file wins over the config's.
    let other = dir.path().join("other-token");
    std::fs::write(&other, "explicit").unwrap();
    let (code, _, _) = run(&["pause", "-c", &config, "--reason", "r", "--token-file", other.to_str().unwrap()]);
    assert_eq!(code, 0);
    let pause = fake.requests().into_iter().find(|r| r.path == "/v1/pause").expect("a pause request");
    assert_eq!(pause.header("authorization"), Some("Bearer explicit"));
}

#[test]
fn usage_errors_exit_2_and_send_nothing() {
    let fake = daemon();
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-token");
    std::fs::write(&empty, "\n").unwrap();
    let missing_token = dir.path().join("no-such-token");
    let config = write_config(dir.path(), &format!("127.0.0.1:{}", fake.port), Some(&missing_token));
    let cases: [(&[&str], &str); 6] = [
        (&["pause", "--admin", &fake.url], "--reason"),
        (&["pause", "--admin", &fake.url, "--reason", "r", "--for", "soon"], "--for"),
        (&["status", "--admin", &fake.url, "--timeout", "0s"], "--timeout"),
        (&["status", "-c", "/no/such/rmfc.yaml"], "/no/such/rmfc.yaml"),
        (&["pause", "--admin", &fake.url, "--reason", "r", "--token-file", empty.to_str().unwrap()], "empty"),
        (&["resume", "-c", &config], "admin.token_file"),
    ];
    for (args, want) in cases {
        let (code, _, err) = run(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    let (code, out, _) = run(&["status", "--help"]);
    assert_eq!(code, 0);
    for want in ["Exit codes:", "1  refused", "2  usage", "3  failed"] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
}

#[test]
fn slow_answers_within_the_deadline_are_fine() {
    let fake = Fake::start(|_| {
        std::thread::sleep(Duration::from_millis(200));
        Some((200, r#"{"paused":null}"#.into()))
    });
    let (code, _, err) = run(&["resume", "--admin", &fake.url, "--timeout", "5s"]);
    assert_eq!(code, 0, "{err}");
}
