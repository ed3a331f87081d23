//! Warnings about the `security` section: settings that are valid but do not do what an
//! operator may think (a `health.user` that Kerberos ignores), and, for `check-config`, a look
//! at the keytab.
//!
//! Owns: those judgments. Must not: refuse a config, read the keytab's keys, or talk to a KDC.

use super::lint::{warn, world_readable, Warning};
use super::Config;

pub(super) fn lint(cfg: &Config, out: &mut Vec<Warning>) {
    if cfg.security.kerberos.is_none() {
        return;
    }
    if let Some(user) = &cfg.health.user {
        warn(
            out,
            "health.user",
            format!(
                "{user:?} is not sent with security.authentication: kerberos (the RM takes the user from rmfc's \
                 ticket: security.principal); remove health.user"
            ),
        );
    }
}

pub(super) fn check_files(cfg: &Config, out: &mut Vec<Warning>) {
    let Some(k) = &cfg.security.kerberos else { return };
    let key = "security.keytab";
    match std::fs::read(&k.keytab) {
        Err(e) => warn(out, key, format!("{}: {e} (the daemon logs in from it)", k.keytab.display())),
        Ok(bytes) if !(bytes.starts_with(&[5, 1]) || bytes.starts_with(&[5, 2])) => {
            warn(out, key, format!("{}: is not a Kerberos keytab", k.keytab.display()))
        }
        Ok(_) if world_readable(&k.keytab) => warn(
            out,
            key,
            format!("{}: is readable by every user, who can then log in as rmfc; chmod 0400 it", k.keytab.display()),
        ),
        Ok(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kerberos_config(keytab: &std::path::Path, extra: &str) -> Config {
        let text = format!(
            "cluster_id: c\nrm_id: rm1\nzookeeper: {{ connect: 'zk:1' }}\nresource_managers:\n  rm1: {{ admin_address: 'rm1:8033', web_address: 'http://rm1:8088' }}\n  rm2: {{ admin_address: 'rm2:8033', web_address: 'http://rm2:8088' }}\nsecurity: {{ authentication: kerberos, principal: rmfc/_HOST@R, keytab: {}, rm_principal: rm/_HOST@R }}\n{extra}",
            keytab.display()
        );
        Config::from_yaml_str(&text).expect("valid")
    }

    #[test]
    fn kerberos_lints_name_the_setting_to_change() {
        if !cfg!(feature = "kerberos") {
            return; // such a config does not load without the feature (tested in security.rs)
        }
        let c = kerberos_config(std::path::Path::new("/k"), "health: { user: yarn }\n");
        let w = c.lint();
        assert!(w.iter().any(|w| w.key == "health.user" && w.message.contains("is not sent")), "{w:?}");
        let c = kerberos_config(std::path::Path::new("/k"), "");
        assert!(!c.lint().iter().any(|w| w.key.starts_with("health.")), "{:?}", c.lint());
    }

    #[test]
    fn the_keytab_must_exist_be_a_keytab_and_be_private() {
        if !cfg!(feature = "kerberos") {
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let keytab = dir.path().join("rmfc.keytab");
        let check = |c: &Config| -> Vec<String> {
            c.check_files().into_iter().filter(|w| w.key == "security.keytab").map(|w| w.message).collect()
        };
        let c = kerberos_config(&keytab, "");
        assert!(check(&c).iter().any(|m| m.contains("No such file")), "{:?}", check(&c));
        std::fs::write(&keytab, b"hello").unwrap();
        assert!(check(&c).iter().any(|m| m.contains("not a Kerberos keytab")), "{:?}", check(&c));
        std::fs::write(&keytab, [5u8, 2, 0, 0]).unwrap();
        std::fs::set_permissions(&keytab, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(check(&c).iter().any(|m| m.contains("readable by every user")), "{:?}", check(&c));
        std::fs::set_permissions(&keytab, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(check(&c).is_empty(), "{:?}", check(&c));
    }
}
