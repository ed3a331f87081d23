//! The security checks as specifications: deploy/'s Kerberized trio (core-site, mode A and
//! yarn-site snippets) fits deploy/rmfc-kerberos.yaml, and one row per finding — the RM settings
//! changed, the rmfc config changed, every finding expected with what it must say.

use super::tests::{config, findings, props_of, site_from, Changes, MODE_A};
use super::*;

const CORE_SITE: &str = include_str!("../../../deploy/core-site-kerberos.xml");
const YARN_SITE: &str = include_str!("../../../deploy/yarn-site-kerberos.xml");
const RMFC: &str = include_str!("../../../deploy/rmfc-kerberos.yaml");

/// The Kerberized RM settings of deploy/ with `changes`, as one yarn-site.xml.
fn kerberized(changes: &[(&str, Option<&str>)]) -> YarnSite {
    site_from(props_of(&[CORE_SITE, MODE_A, YARN_SITE]), changes)
}

/// deploy/rmfc-kerberos.yaml with each `(from, to)` replaced (each `from` must be in it).
fn rmfc(edits: &[(&str, &str)]) -> Config {
    let mut yaml = RMFC.to_string();
    for (from, to) in edits {
        assert!(yaml.contains(from), "{from:?} is not in deploy/rmfc-kerberos.yaml");
        yaml = yaml.replace(from, to);
    }
    Config::from_yaml_str(&yaml).expect("valid test config")
}

/// Edits of deploy/rmfc-kerberos.yaml: each `(from, to)`.
type Edits = &'static [(&'static str, &'static str)];

/// Gives rmfc's store session digest credentials.
const DIGEST: (&str, &str) =
    ("  # auth:\n  #   digest_file: /etc/rmfc/zk-digest", "  auth: { digest_file: /etc/rmfc/zk-digest }");

#[test]
#[cfg_attr(not(feature = "kerberos"), ignore = "a Kerberos config loads only with the kerberos feature")]
fn the_shipped_kerberos_files_fit_each_other() {
    let report = check(&kerberized(&[]), &rmfc(&[]), "rmfc.yaml");
    assert_eq!(report.mode, Mode::A);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

/// One row: the RM settings changed, rmfc's config edited, and each finding expected (its full
/// `yarn-site: SEVERITY: ...` prefix and phrases it must contain), in the report's order.
type Row = (&'static str, Changes, Edits, &'static [(&'static str, &'static [&'static str])]);

#[test]
#[cfg_attr(not(feature = "kerberos"), ignore = "a Kerberos config loads only with the kerberos feature")]
fn each_security_finding_says_what_to_change() {
    let rows: &[Row] = &[
        (
            "the RMs use simple",
            &[(AUTHENTICATION, Some("simple"))],
            &[],
            &[(
                "yarn-site: error: hadoop.security.authentication=simple (in yarn-site.xml): the RMs do not use \
                 Kerberos, but security.authentication is kerberos in rmfc.yaml, and rmfc never falls back to SIMPLE",
                &["set security.authentication: simple in rmfc.yaml and remove security.principal, security.keytab, \
                   security.rm_principal and security.rpc_protection there"],
            )],
        ),
        (
            "core-site.xml not given",
            &[(AUTHENTICATION, None), (RPC_PROTECTION, None)],
            &[],
            &[(
                "yarn-site: warning: hadoop.security.authentication is not set in yarn-site.xml (Hadoop's default: \
                 simple), but security.authentication is kerberos in rmfc.yaml",
                &["give it first (--yarn-site core-site.xml --yarn-site yarn-site.xml)", "set security.authentication: simple"],
            )],
        ),
        (
            "an authentication Hadoop does not know",
            &[(AUTHENTICATION, Some("kerberos5"))],
            &[],
            &[(
                "yarn-site: warning: hadoop.security.authentication is \"kerberos5\" in yarn-site.xml: Hadoop's RPC \
                 knows simple and kerberos",
                &["were not compared"],
            )],
        ),
        (
            "another RM principal",
            &[],
            &[("rm_principal: rm/_HOST@EXAMPLE.COM", "rm_principal: yarn/_HOST@EXAMPLE.COM")],
            &[(
                "yarn-site: error: yarn.resourcemanager.principal is rm/_HOST@EXAMPLE.COM (in yarn-site.xml), but \
                 security.rm_principal is yarn/_HOST@EXAMPLE.COM in rmfc.yaml: for rm1 rmfc would expect \
                 yarn/rm1.example.com@EXAMPLE.COM where the RM logs in as rm/rm1.example.com@EXAMPLE.COM (and \
                 likewise for rm2), and rmfc refuses an RM that is not the principal it expects",
                &["set security.rm_principal: rm/_HOST@EXAMPLE.COM in rmfc.yaml"],
            )],
        ),
        (
            "one host's principal for every RM",
            &[],
            &[("rm_principal: rm/_HOST@EXAMPLE.COM", "rm_principal: rm/rm1.example.com@EXAMPLE.COM")],
            &[(
                "yarn-site: error: yarn.resourcemanager.principal is rm/_HOST@EXAMPLE.COM (in yarn-site.xml), but \
                 security.rm_principal is rm/rm1.example.com@EXAMPLE.COM in rmfc.yaml: for rm2 rmfc would expect \
                 rm/rm1.example.com@EXAMPLE.COM where the RM logs in as rm/rm2.example.com@EXAMPLE.COM,",
                &["set security.rm_principal: rm/_HOST@EXAMPLE.COM in rmfc.yaml"],
            )],
        ),
        (
            "a host-specific RM principal of another host",
            &[(RM_PRINCIPAL, Some("rm/rm9.example.com@EXAMPLE.COM"))],
            &[],
            &[(
                "yarn-site: error: yarn.resourcemanager.principal is rm/rm9.example.com@EXAMPLE.COM (in \
                 yarn-site.xml), but security.rm_principal is rm/_HOST@EXAMPLE.COM in rmfc.yaml: for rm1 rmfc would \
                 expect rm/rm1.example.com@EXAMPLE.COM where the RM logs in as rm/rm9.example.com@EXAMPLE.COM,",
                &["set security.rm_principal: rm/rm9.example.com@EXAMPLE.COM in rmfc.yaml"],
            )],
        ),
        (
            "no RM principal in the files",
            &[(RM_PRINCIPAL, None)],
            &[],
            &[(
                "yarn-site: warning: yarn.resourcemanager.principal is not set in yarn-site.xml: the RMs log in as \
                 it, so security.rm_principal (rm/_HOST@EXAMPLE.COM in rmfc.yaml) was not compared",
                &["set yarn.resourcemanager.principal=rm/_HOST@EXAMPLE.COM in yarn-site.xml if that is the RMs' principal"],
            )],
        ),
        (
            "the RMs offer privacy, rmfc accepts authentication only",
            &[],
            &[("  rpc_protection: privacy\n", "")],
            &[(
                "yarn-site: error: hadoop.rpc.protection=privacy (in yarn-site.xml): the RMs offer privacy, but rmfc \
                 accepts only authentication (security.rpc_protection in rmfc.yaml; authentication when not set), so \
                 no connection can agree on a protection and rmfc refuses every RM",
                &["set security.rpc_protection: privacy in rmfc.yaml (or add authentication to hadoop.rpc.protection \
                   in yarn-site.xml on every RM)"],
            )],
        ),
        (
            "Hadoop's default protection, rmfc wants integrity or privacy",
            &[(RPC_PROTECTION, None)],
            &[("rpc_protection: privacy", "rpc_protection: integrity,privacy")],
            &[(
                "yarn-site: error: hadoop.rpc.protection=authentication (not set: Hadoop's default): the RMs offer \
                 authentication, but rmfc accepts only integrity,privacy",
                &["set security.rpc_protection: authentication in rmfc.yaml", "or add integrity to hadoop.rpc.protection"],
            )],
        ),
        (
            "a protection Hadoop does not know",
            &[(RPC_PROTECTION, Some("privacy,auth-conf"))],
            &[],
            &[(
                "yarn-site: warning: hadoop.rpc.protection is \"privacy,auth-conf\" in yarn-site.xml: \"auth-conf\" is \
                 not one of authentication, integrity, privacy",
                &["the protections were not compared"],
            )],
        ),
        (
            "rmfc's principal in another realm",
            &[],
            &[("principal: rmfc/_HOST@EXAMPLE.COM", "principal: rmfc/_HOST@CORP.EXAMPLE.COM")],
            &[(
                "yarn-site: warning: security.principal rmfc/_HOST@CORP.EXAMPLE.COM (in rmfc.yaml) is in realm \
                 CORP.EXAMPLE.COM, the RMs' principal rm/_HOST@EXAMPLE.COM in EXAMPLE.COM",
                &[
                    "the RMs may refuse every call from rmfc (\"No rules applied to rmfc/rm1.example.com@CORP.EXAMPLE.COM\")",
                    "add a rule for CORP.EXAMPLE.COM to hadoop.security.auth_to_local",
                ],
            )],
        ),
        (
            "an admin ACL without rmfc's short name",
            &[(ADMIN_ACL, Some("yarn hadoop"))],
            &[],
            &[(
                "yarn-site: warning: yarn.admin.acl=\"yarn hadoop\" (in yarn-site.xml) does not list rmfc, the user \
                 the RMs make of rmfc's principal rmfc/rm1.example.com@EXAMPLE.COM (security.principal in rmfc.yaml) \
                 under Hadoop's DEFAULT auth_to_local rule when EXAMPLE.COM is their default realm: unless rmfc is \
                 the user the RMs run as or a member of group hadoop, every HA call may be refused \
                 (AccessControlException); add rmfc to yarn.admin.acl in yarn-site.xml",
                &[],
            )],
        ),
        (
            "rmfc as a group of the admin ACL",
            &[(ADMIN_ACL, Some(" rmfc"))],
            &[],
            &[("yarn-site: warning: yarn.admin.acl=\" rmfc\" (in yarn-site.xml) does not list rmfc,", &["a member of group rmfc"])],
        ),
        (
            "an admin ACL under custom auth_to_local rules",
            &[(ADMIN_ACL, Some("yarn")), (AUTH_TO_LOCAL, Some("RULE:[2:$1@$0](rm@EXAMPLE.COM)s/.*/yarn/ DEFAULT"))],
            &[],
            &[(
                "yarn-site: warning: yarn.admin.acl=\"yarn\" (in yarn-site.xml) does not list rmfc,",
                &["hadoop.security.auth_to_local is set (in yarn-site.xml), so it may map to another name (`hadoop \
                   kerbname rmfc/rm1.example.com@EXAMPLE.COM` on an RM host tells)"],
            )],
        ),
        (
            "service authorization without hadoop-policy.xml",
            &[(AUTHORIZATION, Some("true"))],
            &[],
            &[(
                "yarn-site: note: hadoop.security.authorization=true (in yarn-site.xml): the RMs also check every HA \
                 call against security.ha.service.protocol.acl in their hadoop-policy.xml",
                &["make sure it admits rmfc (rmfc's principal rmfc/rm1.example.com@EXAMPLE.COM)", "give hadoop-policy.xml too"],
            )],
        ),
        (
            "a service ACL without rmfc",
            &[(AUTHORIZATION, Some("true")), (HA_PROTOCOL_ACL, Some("yarn"))],
            &[],
            &[(
                "yarn-site: warning: security.ha.service.protocol.acl=\"yarn\" (in yarn-site.xml) does not list rmfc,",
                &[
                    "every HA call may be refused (AuthorizationException); add rmfc to \
                     security.ha.service.protocol.acl in yarn-site.xml (then yarn rmadmin -refreshServiceAcl on every RM)",
                ],
            )],
        ),
        (
            "the default service ACL stands in",
            &[(AUTHORIZATION, Some("true")), (DEFAULT_SERVICE_ACL, Some("yarn,hdfs"))],
            &[],
            &[("yarn-site: warning: security.service.authorization.default.acl=\"yarn,hdfs\" (in yarn-site.xml) does not list rmfc,", &[])],
        ),
        (
            "the RMs authenticate to ZooKeeper, the store stays open",
            &[(ZK_AUTH, Some("digest:rm-store:s3cret"))],
            &[],
            &[(
                "yarn-site: note: the RMs authenticate to ZooKeeper as digest:rm-store by hadoop.zk.auth in \
                 yarn-site.xml, but hadoop.zk.acl is not set, so the RMs' store root stays readable by anyone \
                 (Hadoop's default world:anyone:rwcda) and fencing.methods[0] (zk_state_store) in rmfc.yaml needs no \
                 credentials",
                &["grant read (r) to an identity rmfc authenticates as (zookeeper.auth in rmfc.yaml)"],
            )],
        ),
        (
            "a SASL-only store ACL",
            &[(ZK_ACL, Some("sasl:rm:rwcda"))],
            &[],
            &[(
                "yarn-site: error: hadoop.zk.acl=sasl:rm:rwcda (in yarn-site.xml) grants read on the RMs' store root \
                 only to sasl:rm:rwcda, and rmfc's ZooKeeper session has no credentials (zookeeper.auth is not set in \
                 rmfc.yaml): fencing.methods[0] (zk_state_store) in rmfc.yaml cannot read the store root's ACL \
                 (NoAuth), so no promotion could be confirmed fenced and rmfc would not fail over",
                &["add an entry for rmfc with read to hadoop.zk.acl in yarn-site.xml, e.g. digest:rmfc:HASH:r", "set \
                   zookeeper.auth.digest_file in rmfc.yaml to a file holding rmfc:PASSWORD"],
            )],
        ),
        (
            "a digest store ACL and its auth, rmfc without credentials",
            &[(ZK_AUTH, Some("digest:rm-store:s3cret")), (ZK_ACL, Some("digest:rm-store:aGFzaA==:rwcda"))],
            &[],
            &[(
                "yarn-site: error: hadoop.zk.acl=digest:rm-store:…:rwcda (in yarn-site.xml) grants read on the RMs' \
                 store root only to digest:rm-store:…:rwcda (the RMs authenticate to ZooKeeper as digest:rm-store by \
                 hadoop.zk.auth in yarn-site.xml), and rmfc's ZooKeeper session has no credentials",
                &["set zookeeper.auth.digest_file in rmfc.yaml to a file holding the user:password of digest:rm-store"],
            )],
        ),
        (
            "the deprecated names",
            &[("yarn.resourcemanager.zk-auth", Some("@/etc/hadoop/conf/zk-auth")), ("yarn.resourcemanager.zk-acl", Some("sasl:rm:rwcda"))],
            &[],
            &[
                (
                    "yarn-site: error: yarn.resourcemanager.zk-acl=sasl:rm:rwcda (in yarn-site.xml) grants read on the \
                     RMs' store root only to sasl:rm:rwcda (the RMs authenticate to ZooKeeper with \
                     yarn.resourcemanager.zk-auth in yarn-site.xml, read from /etc/hadoop/conf/zk-auth (not read \
                     here))",
                    &["add an entry for rmfc with read to yarn.resourcemanager.zk-acl"],
                ),
                ("yarn-site: note: yarn.resourcemanager.zk-auth is deprecated", &["rename it hadoop.zk.auth in yarn-site.xml"]),
                ("yarn-site: note: yarn.resourcemanager.zk-acl is deprecated", &["rename it hadoop.zk.acl in yarn-site.xml"]),
            ],
        ),
        (
            "a SASL-only store ACL, rmfc with a digest",
            &[(ZK_ACL, Some("sasl:rm:rwcda"))],
            &[DIGEST],
            &[(
                "yarn-site: error: hadoop.zk.acl=sasl:rm:rwcda (in yarn-site.xml) grants read on the RMs' store root \
                 only to sasl:rm:rwcda, and rmfc's ZooKeeper session authenticates with digest from \
                 zookeeper.auth.digest_file /etc/rmfc/zk-digest:",
                &["add digest:USER:HASH:r for the user of zookeeper.auth.digest_file to hadoop.zk.acl in yarn-site.xml"],
            )],
        ),
        (
            "an ACL read from a file",
            &[(ZK_ACL, Some("@/etc/hadoop/conf/zk-acl"))],
            &[],
            &[(
                "yarn-site: warning: hadoop.zk.acl=@/etc/hadoop/conf/zk-acl (in yarn-site.xml): the RMs read their \
                 store ACL from /etc/hadoop/conf/zk-acl (not read here), and rmfc's ZooKeeper session has no credentials",
                &["unless that ACL grants world:anyone read (r)", "set zookeeper.auth.digest_file in rmfc.yaml"],
            )],
        ),
        (
            "an address-based store ACL",
            &[(ZK_ACL, Some("ip:10.0.0.0/8:r,sasl:rm:rwcda"))],
            &[],
            &[(
                "yarn-site: warning: hadoop.zk.acl=ip:10.0.0.0/8:r,sasl:rm:rwcda (in yarn-site.xml) grants read on the \
                 RMs' store root to ip:10.0.0.0/8:r, sasl:rm:rwcda; rmfc's ZooKeeper session has no credentials \
                 (zookeeper.auth is not set in rmfc.yaml), and whether an entry admits it only the ZooKeeper servers \
                 can tell",
                &["to be sure, add an entry for rmfc with read to hadoop.zk.acl"],
            )],
        ),
        (
            "a malformed store ACL",
            &[(ZK_ACL, Some("world:anyone"))],
            &[],
            &[(
                "yarn-site: warning: hadoop.zk.acl is \"world:anyone\" in yarn-site.xml: ACL 'world:anyone' not of \
                 expected form scheme:id:perm (ZKUtil refuses it: the RMs do not start)",
                &[],
            )],
        ),
    ];
    for (name, changes, edits, want) in rows {
        let got = findings(&kerberized(changes), &rmfc(edits));
        assert_eq!(got.len(), want.len(), "{name}: {got:#?}");
        for (got, (prefix, phrases)) in got.iter().zip(want.iter()) {
            assert!(got.starts_with(prefix), "{name}:\n got: {got}\nwant: {prefix}");
            for p in *phrases {
                assert!(got.contains(p), "{name}: missing {p:?} in\n{got}");
            }
            assert!(!got.contains("s3cret") && !got.contains("aGFzaA=="), "{name}: a secret is shown: {got}");
        }
    }
}

#[test]
#[cfg_attr(not(feature = "kerberos"), ignore = "a Kerberos config loads only with the kerberos feature")]
fn quiet_on_good_security_variants() {
    let quiet: &[(&str, Changes, Edits)] = &[
        ("rmfc prefers privacy, the RMs offer both", &[(RPC_PROTECTION, Some("authentication,privacy"))], &[]),
        ("rmfc falls back to privacy", &[], &[("rpc_protection: privacy", "rpc_protection: integrity,privacy")]),
        ("this RM's own principal written out", &[(RM_PRINCIPAL, Some("rm/rm1.example.com@EXAMPLE.COM"))], &[]),
        ("everyone may administer", &[(ADMIN_ACL, Some("*"))], &[]),
        ("rmfc among the admins", &[(ADMIN_ACL, Some("yarn,rmfc hadoop"))], &[]),
        (
            "a realm the RMs' rules name",
            &[(AUTH_TO_LOCAL, Some("RULE:[2:$1@$0](rmfc@CORP.EXAMPLE.COM)s/.*/rmfc/ DEFAULT"))],
            &[("principal: rmfc/_HOST@EXAMPLE.COM", "principal: rmfc/_HOST@CORP.EXAMPLE.COM")],
        ),
        ("service ACL with rmfc", &[(AUTHORIZATION, Some("true")), (HA_PROTOCOL_ACL, Some("yarn,rmfc"))], &[]),
        ("an open store ACL", &[(ZK_ACL, Some("world:anyone:r,sasl:rm:rwcda"))], &[]),
        (
            "a digest store ACL, rmfc with a digest",
            &[(ZK_ACL, Some("digest:rmfc:aGFzaA==:r,sasl:rm:rwcda"))],
            &[DIGEST],
        ),
        (
            "a closed store no zk_state_store method reads",
            &[(ZK_ACL, Some("sasl:rm:rwcda"))],
            &[("zookeeper:\n", "fencing: { methods: [{ type: shell, command: /bin/true }] }\nzookeeper:\n")],
        ),
    ];
    for (name, changes, edits) in quiet {
        let got = findings(&kerberized(changes), &rmfc(edits));
        assert!(got.is_empty(), "{name}: {got:#?}");
    }
}

#[test]
fn a_simple_cluster_checks_health_user_against_the_access_lists() {
    let site = site_from(props_of(&[MODE_A]), &[(AUTHORIZATION, Some("true")), (HA_PROTOCOL_ACL, Some("yarn hadoop"))]);
    let got = findings(&site, &config("health: { user: rmfc }\n"));
    assert_eq!(
        got,
        ["yarn-site: warning: security.ha.service.protocol.acl=\"yarn hadoop\" (in yarn-site.xml) does not list rmfc, \
          the user rmfc calls as (health.user in rmfc.yaml): unless rmfc is a member of group hadoop, every HA call \
          is refused (AuthorizationException); add rmfc to security.ha.service.protocol.acl in yarn-site.xml (then \
          yarn rmadmin -refreshServiceAcl on every RM), or set health.user to a listed user"]
    );
}

#[test]
fn a_kerberized_cluster_against_a_simple_rmfc_is_one_error() {
    let got = findings(&kerberized(&[(ADMIN_ACL, Some("yarn"))]), &config(""));
    assert_eq!(got.len(), 1, "the ACL is moot while no call gets through: {got:#?}");
    assert!(
        got[0].starts_with(
            "yarn-site: error: hadoop.security.authentication=kerberos (in yarn-site.xml): the RMs accept only \
             Kerberos (SASL GSSAPI) callers, but security.authentication is simple in rmfc.yaml, so every HA call \
             would be refused (\"SIMPLE authentication is not enabled.  Available:[TOKEN, KERBEROS]\"); set \
             security.authentication: kerberos in rmfc.yaml, with security.principal (rmfc's own, e.g. \
             rmfc/_HOST@EXAMPLE.COM), security.keytab and security.rm_principal: rm/_HOST@EXAMPLE.COM (see \
             deploy/rmfc-kerberos.yaml)"
        ),
        "{}",
        got[0]
    );
}
