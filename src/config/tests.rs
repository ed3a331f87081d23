//! Loading tests: defaults, the example file, and one table row per class of error, each
//! asserting the exact key path in the message. Budget and lint tests live beside their code.

use std::time::Duration;

use super::*;

/// The smallest valid config: required keys only.
pub(crate) const MINIMAL: &str = "
cluster_id: yarn-prod
rm_id: rm1
resource_managers:
  rm1: { admin_address: rm1.example.com:8033, web_address: http://rm1.example.com:8088 }
  rm2: { admin_address: rm2.example.com:8033, web_address: http://rm2.example.com:8088 }
zookeeper:
  connect: zk1:2181,zk2:2181,zk3:2181
";

pub(crate) fn minimal() -> Config {
    Config::from_yaml_str(MINIMAL).expect("MINIMAL is valid")
}

/// MINIMAL with `extra` YAML appended (later sections override nothing: use distinct keys).
fn with(extra: &str) -> Result<Config, ConfigError> {
    Config::from_yaml_str(&format!("{MINIMAL}{extra}"))
}

fn problems(text: &str) -> Vec<String> {
    match Config::from_yaml_str(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn defaults_fill_every_optional_key() {
    let c = minimal();
    assert_eq!(c.cluster_id, "yarn-prod");
    assert_eq!(c.rm_id, "rm1");
    assert_eq!(c.local_rm().admin_address, "rm1.example.com:8033");
    assert_eq!(c.cluster_znode(), "/rmfc/yarn-prod");
    assert_eq!(c.zookeeper.root, "/rmfc");
    assert_eq!(c.zookeeper.session_timeout, Duration::from_secs(10));
    assert_eq!(c.zookeeper.server_tick_time, Duration::from_secs(2));
    assert_eq!(c.zookeeper.auth, None);
    assert_eq!(c.zookeeper.acl, None, "the default ACL is the ZooKeeper adapter's choice");
    assert_eq!(c.zookeeper.tls, None);
    assert_eq!(c.health, HealthConfig::default());
    assert_eq!(
        (c.health.interval, c.health.timeout, c.health.rest, c.health.hung_after, c.health.unhealthy_after),
        (Duration::from_secs(1), Duration::from_secs(3), true, 3, 1)
    );
    assert_eq!(c.transition.request_source, RequestSource::User);
    assert_eq!(c.transition.timeout, Duration::from_secs(60));
    assert_eq!(c.fencing.graceful_timeout, Duration::from_secs(5));
    assert_eq!(
        c.fencing.methods,
        [FenceMethod::ZkStateStore { path: "/rmstore/ZKRMStateRoot".into(), verify_timeout: Duration::from_secs(10) }]
    );
    assert!(!c.fencing.promote_unfenced);
    assert_eq!(
        (c.failover.budget, c.failover.window, c.failover.cooldown),
        (3, Duration::from_secs(1800), Duration::from_secs(10))
    );
    assert_eq!(c.admin.listen.to_string(), "127.0.0.1:9123");
    assert_eq!(c.admin.token_file, None);
    assert_eq!(c.logging.format, LogFormat::Text);
    assert!(c.lint().is_empty(), "defaults must not warn: {:?}", c.lint());
}

#[test]
fn the_example_file_loads_and_spells_out_the_defaults() {
    let example = Config::from_yaml_str(include_str!("../../config.example.yaml")).expect("example is valid");
    let mut defaults = minimal();
    defaults.zookeeper.connect = example.zookeeper.connect.clone();
    assert_eq!(example, defaults, "config.example.yaml must show the defaults");
}

#[test]
fn every_key_can_be_set() {
    let c = with(
        "  root: /hadoop/rmfc
  session_timeout: 6s
  server_tick_time: 500ms
  auth: { digest_file: /etc/rmfc/zk-digest }
  acl: 'digest:rmfc:x8T5Q5n4+c1H1dVW3Hl6mMpr9sU=:rwcda,world:anyone:r'
  tls: { ca_file: /etc/rmfc/zk-ca.pem }
health: { interval: 500ms, timeout: 2s, rest: false, hung_after: 4, unhealthy_after: 2, user: yarn }
transition: { request_source: zkfc, timeout: 2m }
fencing:
  graceful_timeout: 3s
  methods:
    - { type: shell, command: /usr/local/bin/fence-rm --hard, timeout: 20s }
    - { type: http, url: 'https://u:p@pdu.example.com/off/', timeout: 7s }
    - { type: zk_state_store, path: /store/ZKRMStateRoot, verify_timeout: 15s }
  promote_unfenced: true
failover: { budget: 5, window: 1h, cooldown: 0s }
admin: { listen: '[::1]:9000', token_file: /etc/rmfc/token }
logging: { format: json }
",
    )
    .expect("valid");
    assert_eq!(c.zookeeper.root, "/hadoop/rmfc");
    assert_eq!(c.zookeeper.server_tick_time, Duration::from_millis(500));
    assert_eq!(c.zookeeper.auth, Some(ZkAuth { digest_file: Some("/etc/rmfc/zk-digest".into()), sasl: None }));
    assert_eq!(
        c.zookeeper.acl,
        Some(ZkAcl::Entries(vec![
            ZkAclEntry { scheme: "digest".into(), id: "rmfc:x8T5Q5n4+c1H1dVW3Hl6mMpr9sU=".into(), perms: ZkPerms::ALL },
            ZkAclEntry { scheme: "world".into(), id: "anyone".into(), perms: ZkPerms::READ },
        ]))
    );
    assert_eq!(c.zookeeper.tls, Some(ZkTls { ca_file: "/etc/rmfc/zk-ca.pem".into(), identity: None }));
    assert_eq!(c.health.user.as_deref(), Some("yarn"));
    assert!(!c.health.rest);
    assert_eq!(c.transition.request_source, RequestSource::Zkfc);
    assert_eq!(c.transition.timeout, Duration::from_secs(120));
    assert_eq!(
        c.fencing.methods,
        [
            FenceMethod::Shell { command: "/usr/local/bin/fence-rm --hard".into(), timeout: Duration::from_secs(20) },
            FenceMethod::Http { url: "https://u:p@pdu.example.com/off".into(), timeout: Duration::from_secs(7) },
            FenceMethod::ZkStateStore { path: "/store/ZKRMStateRoot".into(), verify_timeout: Duration::from_secs(15) },
        ]
    );
    assert!(c.fencing.promote_unfenced);
    assert_eq!(c.failover.cooldown, Duration::ZERO);
    assert_eq!(c.admin.listen.to_string(), "[::1]:9000");
    assert_eq!(c.logging.format, LogFormat::Json);
}

#[test]
fn an_empty_method_list_means_graceful_only_and_shell_http_get_default_timeouts() {
    let c = with("fencing: { methods: [] }\n").unwrap();
    assert!(c.fencing.methods.is_empty());
    let c = with("fencing: { methods: [ {type: shell, command: x}, {type: http, url: 'http://p'} ] }\n").unwrap();
    assert_eq!(
        c.fencing.methods,
        [
            FenceMethod::Shell { command: "x".into(), timeout: DEFAULT_SHELL_TIMEOUT },
            FenceMethod::Http { url: "http://p".into(), timeout: DEFAULT_HTTP_TIMEOUT },
        ]
    );
}

#[test]
fn each_semantic_error_names_its_key() {
    let cases: &[(&str, &str)] = &[
        ("health: { interval: 1 sek }", "health.interval: invalid duration \"1 sek\": "),
        ("health: { timeout: '3' }", "health.timeout: invalid duration \"3\": time unit needed"),
        ("health: { interval: 0s }", "health.interval: \"0s\" is zero; it must be longer"),
        ("health: { hung_after: 0 }", "health.hung_after: must be at least 1"),
        ("health: { unhealthy_after: 0 }", "health.unhealthy_after: must be at least 1"),
        ("health: { user: '' }", "health.user: must not be empty"),
        ("transition: { timeout: 0ms }", "transition.timeout: \"0ms\" is zero"),
        ("fencing: { graceful_timeout: soon }", "fencing.graceful_timeout: invalid duration \"soon\""),
        ("fencing: { methods: [ {type: shell} ] }", "fencing.methods[0].command: missing (required for type shell)"),
        ("fencing: { methods: [ {type: http} ] }", "fencing.methods[0].url: missing (required for type http)"),
        (
            "fencing: { methods: [ {type: http, url: 'pdu/off'} ] }",
            "fencing.methods[0].url: \"pdu/off\" is not an http(s) URL",
        ),
        (
            "fencing: { methods: [ {type: ipmi} ] }",
            "fencing.methods[0].type: unknown fencing method \"ipmi\" (known: zk_state_store, shell, http)",
        ),
        (
            "fencing: { methods: [ {command: x} ] }",
            "fencing.methods[0].type: missing (required: one of zk_state_store, shell, http)",
        ),
        (
            "fencing: { methods: [ {type: shell, command: x, url: 'http://a'} ] }",
            "fencing.methods[0].url: not a key of type shell (its keys: type, command, timeout)",
        ),
        (
            "fencing: { methods: [ {type: zk_state_store, path: rmstore} ] }",
            "fencing.methods[0].path: \"rmstore\" is not an absolute znode path",
        ),
        (
            "fencing: { methods: [ {type: zk_state_store, verify_timeout: 0s} ] }",
            "fencing.methods[0].verify_timeout: \"0s\" is zero",
        ),
        (
            "fencing: { methods: [ {type: shell, command: x, timeout: 5} ] }",
            "fencing.methods[0].timeout: invalid duration \"5\"",
        ),
        (
            "failover: { budget: 0 }",
            "failover.budget: must be at least 1 (automatic failovers per window; 0 would mean unlimited",
        ),
        ("failover: { window: 0s }", "failover.window: \"0s\" is zero"),
        ("failover: { cooldown: x }", "failover.cooldown: invalid duration \"x\""),
        ("admin: { listen: 'localhost:9123' }", "admin.listen: \"localhost:9123\" is not IP:PORT"),
        ("admin: { token_file: ' ' }", "admin.token_file: must not be empty"),
        (
            "admin: { tls_cert_file: /etc/rmfc/admin.pem }",
            "admin.tls_key_file: required when admin.tls_cert_file is set",
        ),
        (
            "admin: { tls_key_file: /etc/rmfc/admin.key }",
            "admin.tls_cert_file: required when admin.tls_key_file is set",
        ),
    ];
    for (extra, want) in cases {
        let got = problems(&format!("{MINIMAL}{extra}\n"));
        assert!(got.iter().any(|p| p.starts_with(want)), "for {extra}\n got: {got:?}\nwant: {want}");
        assert_eq!(got.len(), 1, "exactly one problem for {extra}: {got:?}");
    }
}

#[test]
fn identity_and_zookeeper_errors_name_their_key() {
    let rms = "resource_managers:\n  rm1: { admin_address: a:1, web_address: 'http://a:2' }\n  rm2: { admin_address: b:1, web_address: 'http://b:2' }\n";
    let zk = "zookeeper: { connect: 'zk:2181' }\n";
    let cases: Vec<(String, &str)> = vec![
        (format!("rm_id: rm1\n{rms}{zk}"), "cluster_id: missing (required)"),
        (format!("cluster_id: 'yarn prod'\nrm_id: rm1\n{rms}{zk}"), "cluster_id: \"yarn prod\" contains ' '"),
        (format!("cluster_id: c\n{rms}{zk}"), "rm_id: missing (required)"),
        (format!("cluster_id: c\nrm_id: rm9\n{rms}{zk}"), "rm_id: \"rm9\" is not a key of resource_managers (known: rm1, rm2)"),
        (format!("cluster_id: c\nrm_id: rm1\n{zk}"), "resource_managers: missing (required"),
        (
            format!("cluster_id: c\nrm_id: rm1\nresource_managers:\n  rm1: {{ admin_address: a:1, web_address: 'http://a:2' }}\n{zk}"),
            "resource_managers: 1 RM(s) given; high availability needs at least 2",
        ),
        (format!("cluster_id: c\nrm_id: rm1\n{rms}"), "zookeeper: missing (required: at least zookeeper.connect)"),
        (format!("cluster_id: c\nrm_id: rm1\n{rms}zookeeper: {{ root: /x }}\n"), "zookeeper.connect: missing (required)"),
        (format!("cluster_id: c\nrm_id: rm1\n{rms}zookeeper: {{ connect: 'zk1:2181,zk2' }}\n"), "zookeeper.connect: server \"zk2\" is not HOST:PORT (the port is missing)"),
        (format!("cluster_id: c\nrm_id: rm1\n{rms}zookeeper: {{ connect: 'zk:1', root: /rmfc/ }}\n"), "zookeeper.root: \"/rmfc/\" must not end with '/'"),
        (format!("cluster_id: c\nrm_id: rm1\n{rms}zookeeper: {{ connect: 'zk:1', root: /zookeeper/x }}\n"), "zookeeper.root: \"/zookeeper/x\" is inside /zookeeper"),
        (format!("cluster_id: c\nrm_id: rm1\n{rms}zookeeper: {{ connect: 'zk:1', session_timeout: 10 }}\n"), "zookeeper.session_timeout: invalid duration \"10\""),
        (format!("cluster_id: c\nrm_id: rm1\n{rms}zookeeper: {{ connect: 'zk:1', server_tick_time: 0s }}\n"), "zookeeper.server_tick_time: \"0s\" is zero"),
        (format!("cluster_id: c\nrm_id: rm1\n{rms}zookeeper: {{ connect: 'zk:1', auth: {{}} }}\n"), "zookeeper.auth: empty: set digest_file, sasl or both"),
    ];
    for (text, want) in cases {
        let got = problems(&text);
        assert!(got.iter().any(|p| p.starts_with(want)), "for\n{text}\n got: {got:?}\nwant: {want}");
    }
}

/// `security` for rmfc's own Kerberos login, which `mechanism: gssapi` needs.
const KERBEROS: &str =
    "security: { authentication: kerberos, principal: rmfc/_HOST@EXAMPLE.COM, keytab: /etc/rmfc.keytab, \
                        rm_principal: rm/_HOST@EXAMPLE.COM }\n";

#[test]
fn zookeeper_security_keys_can_be_set() {
    let c = with(
        "  auth:
    digest_file: /etc/rmfc/zk-digest
    sasl: { mechanism: digest-md5, username: rmfc, password_file: /etc/rmfc/zk-sasl-password }
  acl: '@/etc/rmfc/zk-acl'
  tls: { ca_file: /etc/rmfc/zk-ca.pem, cert_file: /etc/rmfc/zk.pem, key_file: /etc/rmfc/zk.key }
",
    )
    .expect("valid");
    let sasl = ZkSasl::DigestMd5 { username: "rmfc".into(), password_file: "/etc/rmfc/zk-sasl-password".into() };
    assert_eq!(c.zookeeper.auth, Some(ZkAuth { digest_file: Some("/etc/rmfc/zk-digest".into()), sasl: Some(sasl) }));
    assert_eq!(c.zookeeper.acl, Some(ZkAcl::File("/etc/rmfc/zk-acl".into())));
    let identity = ZkTlsIdentity { cert_file: "/etc/rmfc/zk.pem".into(), key_file: "/etc/rmfc/zk.key".into() };
    assert_eq!(c.zookeeper.tls, Some(ZkTls { ca_file: "/etc/rmfc/zk-ca.pem".into(), identity: Some(identity) }));
    #[cfg(feature = "kerberos")]
    {
        let gssapi =
            |sasl: &str| with(&format!("  auth: {{ sasl: {sasl} }}\n{KERBEROS}")).expect("valid").zookeeper.auth;
        let want = |service: &str, hostname: Option<&str>| {
            let sasl = ZkSasl::Gssapi { service: service.into(), hostname: hostname.map(Into::into) };
            Some(ZkAuth { digest_file: None, sasl: Some(sasl) })
        };
        assert_eq!(gssapi("{ mechanism: gssapi }"), want("zookeeper", None), "service defaults to zookeeper");
        assert_eq!(
            gssapi("{ mechanism: gssapi, service: zk, hostname: zk.example.com }"),
            want("zk", Some("zk.example.com"))
        );
    }
}

/// Each row: YAML appended to MINIMAL (inside its `zookeeper` section unless it starts a new
/// one) and every problem it must cause, exactly.
#[test]
fn each_zookeeper_security_error_names_its_key() {
    let gssapi_needs = if cfg!(feature = "kerberos") {
        "zookeeper.auth.sasl.mechanism: gssapi logs in with rmfc's own Kerberos identity: it needs \
         security.authentication: kerberos"
    } else {
        "zookeeper.auth.sasl.mechanism: gssapi needs an rmfc built with the cargo feature `kerberos`"
    };
    // With security.authentication: kerberos, a build without the feature says so too.
    let with_kerberos_problem = |p: &'static str| {
        if cfg!(feature = "kerberos") {
            vec![p]
        } else {
            vec![gssapi_needs, p, "security.authentication: kerberos needs an rmfc built with the `kerberos` feature"]
        }
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("  auth: {}".into(), vec!["zookeeper.auth: empty: set digest_file, sasl or both (or leave auth out)"]),
        ("  auth: { digest_file: '' }".into(), vec!["zookeeper.auth.digest_file: must not be empty"]),
        ("  auth: { sasl: {} }".into(), vec!["zookeeper.auth.sasl.mechanism: missing (required: gssapi or digest-md5)"]),
        (
            "  auth: { sasl: { mechanism: kerberos } }".into(),
            vec!["zookeeper.auth.sasl.mechanism: \"kerberos\" is not one of: gssapi, digest-md5"],
        ),
        (
            "  auth: { sasl: { mechanism: gssapi, password: x } }".into(),
            vec!["zookeeper.auth.sasl.password: unknown key (known keys here: mechanism, service, hostname, username, password_file)"],
        ),
        (
            "  auth: { sasl: { mechanism: digest-md5 } }".into(),
            vec![
                "zookeeper.auth.sasl.username: missing (required for mechanism: digest-md5)",
                "zookeeper.auth.sasl.password_file: missing (required for mechanism: digest-md5)",
            ],
        ),
        (
            "  auth: { sasl: { mechanism: digest-md5, username: ' ', password_file: /p } }".into(),
            vec!["zookeeper.auth.sasl.username: must not be empty"],
        ),
        (
            "  auth: { sasl: { mechanism: digest-md5, username: rmfc, password_file: /p, service: zk, hostname: h } }".into(),
            vec![
                "zookeeper.auth.sasl.service: only means something with mechanism: gssapi (this one is digest-md5)",
                "zookeeper.auth.sasl.hostname: only means something with mechanism: gssapi (this one is digest-md5)",
            ],
        ),
        ("  auth: { sasl: { mechanism: gssapi } }".into(), vec![gssapi_needs]),
        (
            "  auth: { sasl: { mechanism: gssapi, username: rmfc, password_file: /p } }".into(),
            vec![
                "zookeeper.auth.sasl.username: only means something with mechanism: digest-md5 (this one is gssapi)",
                "zookeeper.auth.sasl.password_file: only means something with mechanism: digest-md5 (this one is gssapi)",
                gssapi_needs,
            ],
        ),
        (
            format!("  auth: {{ sasl: {{ mechanism: gssapi, service: zookeeper/zk1 }} }}\n{KERBEROS}"),
            with_kerberos_problem("zookeeper.auth.sasl.service: \"zookeeper/zk1\" contains '/': give only the primary"),
        ),
        (
            format!("  auth: {{ sasl: {{ mechanism: gssapi, hostname: 'zk 1' }} }}\n{KERBEROS}"),
            with_kerberos_problem("zookeeper.auth.sasl.hostname: \"zk 1\": ' ' cannot appear in a host name"),
        ),
        ("  acl: ''".into(), vec!["zookeeper.acl: must not be empty (leave the key out instead)"]),
        ("  acl: 'sasl:rmfc:rwx'".into(), vec!["zookeeper.acl: invalid permission 'x' in \"sasl:rmfc:rwx\""]),
        ("  acl: 'sasl:rmfc'".into(), vec!["zookeeper.acl: \"sasl:rmfc\" is not scheme:id:perms"]),
        ("  acl: 'world:all:r'".into(), vec!["zookeeper.acl: \"world:all:r\": the only world id is anyone"]),
        ("  acl: ','".into(), vec!["zookeeper.acl: names no ACL entry"]),
        ("  acl: '@ '".into(), vec!["zookeeper.acl: \"@\" names no file"]),
        ("  acl: 'auth::rwcda'".into(), vec!["zookeeper.acl: the auth scheme means \"the identities this session authenticated as\", and none is configured"]),
        ("  tls: {}".into(), vec!["zookeeper.tls.ca_file: missing (required)"]),
        (
            "  tls: { ca_file: /ca.pem, cert_file: /zk.pem }".into(),
            vec!["zookeeper.tls.key_file: required when zookeeper.tls.cert_file is set"],
        ),
        (
            "  tls: { ca_file: /ca.pem, key_file: /zk.key }".into(),
            vec!["zookeeper.tls.cert_file: required when zookeeper.tls.key_file is set"],
        ),
        (
            "  tls: { ca_file: /ca.pem, truststore: /t.jks }".into(),
            vec!["zookeeper.tls.truststore: unknown key (known keys here: ca_file, cert_file, key_file)"],
        ),
    ];
    for (extra, want) in cases {
        let got = problems(&format!("{MINIMAL}{extra}\n"));
        assert_eq!(got.len(), want.len(), "for {extra}\n got: {got:#?}\nwant: {want:#?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(g.starts_with(w), "for {extra}\n got: {g}\nwant: {w}");
        }
    }
    // A TLS client certificate may be an identity (the servers' x509 provider): auth is allowed.
    with("  tls: { ca_file: /ca.pem, cert_file: /zk.pem, key_file: /zk.key }\n  acl: 'auth::rwcda'\n").expect("valid");
}

#[test]
fn resource_manager_errors_name_the_rm() {
    let head = "cluster_id: c\nrm_id: rm1\nzookeeper: { connect: 'zk:1' }\nresource_managers:\n";
    let cases = [
        ("  rm1: { admin_address: 'rm1:8033', web_address: 'http://rm1:8088' }\n  rm2: { admin_address: 'rm2:80x', web_address: 'http://rm2:8088' }\n",
         "resource_managers.rm2.admin_address: \"rm2:80x\" is not HOST:PORT (port must be a number 1-65535)"),
        ("  rm1: { admin_address: 'rm1:8033', web_address: 'http://rm1:8088' }\n  rm2: { web_address: 'http://rm2:8088' }\n",
         "resource_managers.rm2.admin_address: missing (required)"),
        ("  rm1: { admin_address: 'rm1:8033', web_address: 'http://rm1:8088' }\n  rm2: { admin_address: 'rm2:8033', web_address: 'rm2:8088' }\n",
         "resource_managers.rm2.web_address: \"rm2:8088\" is not an http(s) URL (it must start with http:// or https://)"),
        ("  rm1: { admin_address: 'rm1:8033', web_address: 'http://rm1:8088' }\n  rm2:\n",
         "resource_managers.rm2.web_address: missing (required)"),
        ("  rm1: { admin_address: 'rm1:8033', web_address: 'http://rm1:8088' }\n  rm2: { admin_address: 'RM1:8033', web_address: 'http://rm2:8088' }\n",
         "resource_managers.rm2.admin_address: \"RM1:8033\" is also the admin_address of rm1"),
        ("  rm1: { admin_address: 'rm1:8033', web_address: 'http://rm1:8088' }\n  rm/2: { admin_address: 'rm2:8033', web_address: 'http://rm2:8088' }\n",
         "resource_managers.rm/2: bad RM id: \"rm/2\" contains '/'"),
    ];
    for (rms, want) in cases {
        let got = problems(&format!("{head}{rms}"));
        assert!(got.iter().any(|p| p.starts_with(want)), "for\n{rms}\n got: {got:?}\nwant: {want}");
    }
}

#[test]
fn all_semantic_errors_are_reported_at_once() {
    let got = problems(
        "cluster_id: c\nrm_id: rm9\nresource_managers:\n  rm1: { admin_address: 'a:1', web_address: 'http://a' }\n  rm2: { admin_address: 'b:x', web_address: 'http://b' }\nzookeeper: { connect: 'zk:1' }\nhealth: { interval: 1 sek, hung_after: 0 }\nfencing: { methods: [ {type: zk_state_store}, {type: shell} ] }\nfailover: { budget: 0 }\n",
    );
    let paths: Vec<&str> = got.iter().map(|p| p.split(": ").next().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "rm_id",
            "resource_managers.rm2.admin_address",
            "health.interval",
            "health.hung_after",
            "fencing.methods[1].command",
            "failover.budget"
        ],
        "{got:#?}"
    );
    assert!(got[0].ends_with("(known: rm1, rm2)"), "a broken entry is still a known id: {got:?}");
}

#[test]
fn serde_errors_come_through_with_their_path() {
    let got = problems(&format!("{MINIMAL}health: {{ intervall: 1s }}\n"));
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("health.intervall: unknown key (known keys here: interval, "), "{got:?}");
    let got = problems(&format!(
        "{MINIMAL}fencing: {{ methods: [ {{type: shell, command: x}}, {{type: shell, comand: x}} ] }}\n"
    ));
    assert!(got[0].starts_with("fencing.methods[1].comand: unknown key"), "{got:?}");
}

#[test]
fn an_empty_document_names_every_required_key() {
    let got = problems("");
    assert_eq!(
        got,
        [
            "cluster_id: missing (required)",
            "rm_id: missing (required)",
            "resource_managers: missing (required: every RM of the cluster by id, at least 2)",
            "zookeeper: missing (required: at least zookeeper.connect)",
        ]
    );
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.yaml");
    let e = Config::load(&missing).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert!(e.to_string().starts_with(&format!("{}: cannot read: ", missing.display())), "{e}");

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "cluster_id: c\n").unwrap();
    let e = Config::load(&bad).unwrap_err();
    let text = e.to_string();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(format!("{}:", bad.display()).as_str()));
    assert_eq!(lines.next(), Some("rm_id: missing (required)"));
    assert_eq!(e.problems().len(), 3);

    let good = dir.path().join("good.yaml");
    std::fs::write(&good, MINIMAL).unwrap();
    assert_eq!(Config::load(&good).unwrap(), minimal());
}
