//! The RMs' HA settings against rmfc's: the failover mode (DESIGN.md "Which RM settings": mode A
//! or B, never the embedded elector), the request source that mode accepts, the RM ids and the
//! admin and web addresses of each RM (with Hadoop's lookup: `<key>.<rm-id>`, else the hostname
//! and the default port; `yarn.http.policy` for the web side), `yarn.resourcemanager.ha.id` and
//! the cluster id.
//!
//! Owns: those checks and their wording. Must not: resolve host names (an IP and a name are
//! reported as not comparable, never looked up).

use std::collections::BTreeMap;

use super::addr::Addr;
use super::{
    Checker, Mode, Severity, SiteRm, ADMIN_ADDRESS, AUTO, CLUSTER_ID, CURATOR, EMBEDDED, HA_ENABLED, HA_ID, HOSTNAME,
    HTTP_POLICY, RM_IDS, WEB_ADDRESS, WEB_HTTPS_ADDRESS,
};
use crate::hadoop_ipc::RequestSource;

impl<'a> Checker<'a> {
    pub(super) fn mode(&mut self) -> Mode {
        let ha = self.flag(HA_ENABLED, false);
        match ha.value {
            None => return Mode::Unknown,
            Some(false) => {
                let f = self.file(HA_ENABLED).to_string();
                self.push(
                    Severity::Error,
                    format!(
                        "{}: the RMs run without HA and do not serve HAServiceProtocol, so rmfc cannot drive \
                         them; set {HA_ENABLED}=true in {f} (and choose a failover mode: \
                         deploy/yarn-site-mode-a.xml)",
                        ha.show()
                    ),
                );
                return Mode::HaDisabled;
            }
            Some(true) => {}
        }
        let auto = self.flag(AUTO, true);
        let embedded = self.flag(EMBEDDED, true);
        let curator = self.flag(CURATOR, false);
        let file = self.file(AUTO).to_string();
        let source = self.cfg.transition.request_source;
        match (auto.value, embedded.value, curator.value) {
            (Some(false), _, _) => Mode::A,
            (Some(true), Some(true), _) => {
                let mode_a_rmfc = if source == RequestSource::Zkfc {
                    format!(" and set transition.request_source: user in {}", self.cfg_file)
                } else {
                    " (rmfc's transition.request_source: user stays)".to_string()
                };
                let mode_b_rmfc = if source == RequestSource::Zkfc {
                    String::new()
                } else {
                    format!(", and set transition.request_source: zkfc in {}", self.cfg_file)
                };
                let elector = if curator.value == Some(true) { "Curator" } else { "ActiveStandbyElector" };
                self.push(
                    Severity::Error,
                    format!(
                        "{} and {}: every RM runs its own embedded leader elector ({elector}), which would fight \
                         rmfc over which RM is active. For mode A (recommended) set {AUTO}=false in {file}{mode_a_rmfc}; \
                         or, for mode B, keep {AUTO}=true and set {EMBEDDED}=false and {CURATOR}=true in {file}\
                         {mode_b_rmfc} (see deploy/yarn-site-mode-a.xml, deploy/yarn-site-mode-b.xml)",
                        auto.show(),
                        embedded.show()
                    ),
                );
                Mode::EmbeddedElector
            }
            (Some(true), Some(false), Some(false)) => {
                self.push(
                    Severity::Error,
                    format!(
                        "{}, {} and {}: the RM refuses to start (\"Invalid configuration! The {EMBEDDED} and \
                         {CURATOR} properties are both false...\"). Set {AUTO}=false in {file} (mode A, \
                         recommended; transition.request_source: user), or set {CURATOR}=true in {file} (mode B; \
                         transition.request_source: zkfc)",
                        auto.show(),
                        embedded.show(),
                        curator.show()
                    ),
                );
                Mode::Invalid
            }
            (Some(true), Some(false), Some(true)) => {
                self.push(
                    Severity::Note,
                    format!(
                        "mode B relies on a quirk of Hadoop 3.x (with {EMBEDDED}=false the deprecated {CURATOR} \
                         only passes validation; no elector is built): re-verify it whenever Hadoop is upgraded, or \
                         prefer mode A ({AUTO}=false)"
                    ),
                );
                Mode::B
            }
            _ => {
                self.push(
                    Severity::Warning,
                    format!(
                        "the RM failover mode cannot be told ({}, {}, {}): one of them refers to an undefined \
                         ${{...}}; write plain true/false values in {file}",
                        auto.show(),
                        embedded.show(),
                        curator.show()
                    ),
                );
                Mode::Unknown
            }
        }
    }

    pub(super) fn request_source(&mut self, mode: Mode) {
        let src = self.cfg.transition.request_source;
        let cfg = self.cfg_file;
        let file = self.file(AUTO).to_string();
        match (mode, src) {
            (Mode::A, RequestSource::Zkfc) => self.push(
                Severity::Error,
                format!(
                    "transition.request_source is zkfc (REQUEST_BY_ZKFC), which an RM in mode A ({AUTO}=false) \
                     refuses (\"...denied since automatic failover is not enabled\"): set \
                     transition.request_source: user in {cfg} (or switch the RMs to mode B: \
                     deploy/yarn-site-mode-b.xml)"
                ),
            ),
            (Mode::B, RequestSource::User) => self.push(
                Severity::Error,
                format!(
                    "transition.request_source is user (REQUEST_BY_USER), which an RM in mode B refuses (\"Manual \
                     failover for this ResourceManager is disallowed, because automatic failover is enabled\"): \
                     set transition.request_source: zkfc in {cfg} (or switch the RMs to mode A: {AUTO}=false in \
                     {file})"
                ),
            ),
            (Mode::B, RequestSource::Forced) => self.push(
                Severity::Warning,
                format!(
                    "transition.request_source is forced (REQUEST_BY_USER_FORCED): an RM in mode B accepts it but \
                     logs a warning on every transition; set transition.request_source: zkfc in {cfg}"
                ),
            ),
            _ => {}
        }
    }

    /// RM ids and per-RM addresses, compared with `resource_managers`.
    pub(super) fn resource_managers(&mut self) -> (Vec<String>, BTreeMap<String, SiteRm>) {
        let cfg = self.cfg;
        let cfg_ids: Vec<&String> = cfg.resource_managers.keys().collect();
        let Some(ids_value) = self.value(RM_IDS) else {
            let f = self.file(RM_IDS).to_string();
            let ids: Vec<&str> = cfg_ids.iter().map(|s| s.as_str()).collect();
            self.push(
                Severity::Error,
                format!(
                    "{RM_IDS} is not set: an HA RM refuses to start without it; set {RM_IDS}={} in {f} (the ids of \
                     resource_managers in {})",
                    ids.join(","),
                    self.cfg_file
                ),
            );
            return (Vec::new(), BTreeMap::new());
        };
        if !ids_value.unresolved.is_empty() {
            return (Vec::new(), BTreeMap::new());
        }
        let mut site_ids: Vec<String> = Vec::new();
        for id in ids_value.text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !site_ids.iter().any(|s| s == id) {
                site_ids.push(id.to_string());
            }
        }
        let ids_file = self.file(RM_IDS).to_string();
        let policy = self.http_policy();
        let mut rms = BTreeMap::new();
        for id in &site_ids {
            let admin = self.rm_address(id, ADMIN_ADDRESS, 8033);
            let web = self.web_address(id, policy);
            rms.insert(id.clone(), (admin, web));
        }

        for id in &site_ids {
            if !cfg.resource_managers.contains_key(id) {
                let (admin, web) = &rms[id];
                let admin = admin.as_ref().and_then(|a| a.value.clone()).map(|a| a.host_port());
                let web = web.as_ref().and_then(|w| w.value.clone()).map(|w| w.url());
                self.push(
                    Severity::Error,
                    format!(
                        "RM {id:?} is in {RM_IDS} ({}) in {ids_file} but not in resource_managers: add \
                         resource_managers.{id} (admin_address: {}, web_address: {}) to {}, and run an rmfc daemon \
                         beside it",
                        site_ids.join(","),
                        admin.as_deref().unwrap_or("HOST:8033"),
                        web.as_deref().unwrap_or("http://HOST:8088"),
                        self.cfg_file
                    ),
                );
            }
        }
        for id in &cfg_ids {
            if !site_ids.iter().any(|s| s == *id) {
                self.push(
                    Severity::Error,
                    format!(
                        "resource_managers.{id} in {} is not an RM of {RM_IDS} ({}) in {ids_file}: remove it from \
                         {}, or add {id} to {RM_IDS} (with {HOSTNAME}.{id}) in {ids_file}",
                        self.cfg_file,
                        if site_ids.is_empty() { "empty".to_string() } else { site_ids.join(",") },
                        self.cfg_file
                    ),
                );
            }
        }

        let mut out = BTreeMap::new();
        for id in &site_ids {
            let (admin, web) = rms[id].clone();
            if let Some(ep) = cfg.resource_managers.get(id) {
                self.missing_address(id, admin.is_some(), web.is_some(), policy, ep);
                if let (Some(a), Some(want)) = (&admin, Addr::parse_host_port(&ep.admin_address, 8033)) {
                    self.compare(id, "admin_address", a, &ep.admin_address, &want, Severity::Error);
                }
                if let Some(w) = &web {
                    let rest_used = cfg.health.rest;
                    match Addr::parse_url(&ep.web_address) {
                        Some((want, path)) if path.is_empty() => {
                            let sev = if rest_used { Severity::Error } else { Severity::Warning };
                            self.compare(id, "web_address", w, &ep.web_address, &want, sev);
                        }
                        _ => self.push(
                            Severity::Note,
                            format!(
                                "resource_managers.{id}.web_address ({}) has a path (a proxy?): not compared with \
                                 {} in {}",
                                ep.web_address, w.source, w.file
                            ),
                        ),
                    }
                }
            }
            out.insert(
                id.clone(),
                SiteRm {
                    admin_address: admin.and_then(|a| a.value).map(|a| a.host_port()),
                    web_address: web.and_then(|w| w.value).map(|w| w.url()),
                },
            );
        }

        if let Some(ha_id) = self.known(HA_ID) {
            if ha_id != cfg.rm_id && site_ids.contains(&ha_id) {
                let f = self.file(HA_ID).to_string();
                self.push(
                    Severity::Warning,
                    format!(
                        "{HA_ID} is {ha_id} in {f}, but rm_id is {} in {}: this yarn-site.xml belongs to {ha_id}'s \
                         host; check it against the rmfc config beside {ha_id}, or set rm_id: {ha_id} in {}",
                        cfg.rm_id, self.cfg_file, self.cfg_file
                    ),
                );
            }
        }
        (site_ids, out)
    }

    fn http_policy(&mut self) -> HttpPolicy {
        let Some(p) = self.known(HTTP_POLICY) else { return HttpPolicy::HttpOnly };
        match p.to_ascii_uppercase().as_str() {
            "HTTP_ONLY" => HttpPolicy::HttpOnly,
            "HTTPS_ONLY" => HttpPolicy::HttpsOnly,
            "HTTP_AND_HTTPS" => HttpPolicy::Both,
            _ => {
                let f = self.file(HTTP_POLICY).to_string();
                self.push(
                    Severity::Warning,
                    format!(
                        "{HTTP_POLICY} is {p:?} in {f}: not HTTP_ONLY, HTTPS_ONLY or HTTP_AND_HTTPS (the RM refuses \
                         to start); web addresses are checked as for HTTP_ONLY"
                    ),
                );
                HttpPolicy::HttpOnly
            }
        }
    }

    /// `prefix.<id>`, else `yarn.resourcemanager.hostname.<id>` + the default port (as
    /// `HAUtil.checkAndSetRMRPCAddress`). `None`: neither is set.
    fn rm_address(&mut self, id: &str, prefix: &str, default_port: u16) -> Option<SiteAddr<'a>> {
        let key = format!("{prefix}.{id}");
        let host_key = format!("{HOSTNAME}.{id}");
        if let Some(v) = self.value(&key) {
            let file = self.file(&key);
            let value = if v.unresolved.is_empty() { Addr::parse_host_port(&v.text, default_port) } else { None };
            if value.is_none() && v.unresolved.is_empty() {
                self.push(
                    Severity::Error,
                    format!(
                        "{key} is {:?} in {file}: not HOST:PORT; write e.g. {key}=rm1.example.com:{default_port}",
                        v.text
                    ),
                );
            }
            return Some(SiteAddr { value, source: key.clone(), key, file });
        }
        let v = self.value(&host_key)?;
        let value = if v.unresolved.is_empty() {
            Addr::parse_host_port(&format!("{}:{default_port}", v.text), 0)
        } else {
            None
        };
        Some(SiteAddr {
            value,
            source: format!("{host_key} + the default port {default_port}"),
            file: self.file(&host_key),
            key: host_key,
        })
    }

    /// Which web address rmfc should use for `id`: the key prefix, its default port, and https.
    fn web_key(&self, id: &str, policy: HttpPolicy) -> (&'static str, u16, bool) {
        let rmfc_https = self.cfg.resource_managers.get(id).is_some_and(|ep| ep.web_address.starts_with("https://"));
        match policy {
            HttpPolicy::HttpsOnly => (WEB_HTTPS_ADDRESS, 8090, true),
            HttpPolicy::Both if rmfc_https => (WEB_HTTPS_ADDRESS, 8090, true),
            _ => (WEB_ADDRESS, 8088, false),
        }
    }

    fn web_address(&mut self, id: &str, policy: HttpPolicy) -> Option<SiteAddr<'a>> {
        let (prefix, port, https) = self.web_key(id, policy);
        let mut a = self.rm_address(id, prefix, port)?;
        if let Some(v) = a.value.as_mut() {
            v.https = https;
        }
        if policy == HttpPolicy::HttpsOnly {
            a.source.push_str(&format!("; {HTTP_POLICY}=HTTPS_ONLY"));
        }
        Some(a)
    }

    /// Neither the address key nor the hostname: the RM refuses to start.
    fn missing_address(
        &mut self,
        id: &str,
        admin: bool,
        web: bool,
        policy: HttpPolicy,
        ep: &crate::config::RmEndpoint,
    ) {
        let missing = if !admin {
            ADMIN_ADDRESS
        } else if !web {
            self.web_key(id, policy).0
        } else {
            return;
        };
        let host = Addr::parse_host_port(&ep.admin_address, 8033).map_or_else(|| "HOST".to_string(), |a| a.host);
        let f = self.file(RM_IDS);
        self.push(
            Severity::Error,
            format!(
                "neither {HOSTNAME}.{id} nor {missing}.{id} is set: an HA RM refuses to start (\"... needs to be set \
                 in an HA configuration\"); set {HOSTNAME}.{id}={host} in {f}"
            ),
        );
    }

    /// Compares an address from the files with rmfc's `resource_managers.<id>.<field>`.
    fn compare(&mut self, id: &str, field: &str, site: &SiteAddr<'_>, have_text: &str, have: &Addr, sev: Severity) {
        let Some(want) = &site.value else { return };
        let cfg_key = format!("resource_managers.{id}.{field}");
        let cfg = self.cfg_file;
        let (file, key, source) = (site.file, &site.key, &site.source);
        let want_text = if field == "web_address" { want.url() } else { want.host_port() };
        if want.is_wildcard() {
            self.push(
                Severity::Warning,
                format!(
                    "{file} gives {want_text} for {id} ({source}), a wildcard bind address rmfc cannot connect to: \
                     not compared with {cfg_key} ({have_text}); set yarn.resourcemanager.bind-host=0.0.0.0 for \
                     binding and put {id}'s host name in {key} in {file}"
                ),
            );
            return;
        }
        let same_host = have.host.eq_ignore_ascii_case(&want.host);
        if same_host && have.port == want.port && have.https == want.https {
            return;
        }
        if !same_host && have.port == want.port && have.https == want.https && (have.is_ip() != want.is_ip()) {
            self.push(
                Severity::Warning,
                format!(
                    "{cfg_key} is {have_text} in {cfg}, and {file} gives {want_text} ({source}): one names the host \
                     by address, the other by name, so whether they agree cannot be told without DNS; make sure they \
                     name the same host (or write the same form in both)"
                ),
            );
            return;
        }
        let scheme_hint = match (have.https, want.https) {
            (false, true) => " (the RM serves its web UI over HTTPS only)",
            (true, false) => " (the RM serves its web UI over plain HTTP: yarn.http.policy is not HTTPS_ONLY)",
            _ => "",
        };
        self.push(
            sev,
            format!(
                "{cfg_key} is {have_text} in {cfg}, but {file} gives {want_text} ({source}){scheme_hint}: set \
                 {cfg_key}: {want_text} in {cfg} (or correct {key} in {file})"
            ),
        );
    }

    pub(super) fn cluster(&mut self) {
        match self.known(CLUSTER_ID) {
            None if self.site.raw(CLUSTER_ID).is_none() => {
                let f = self.file(CLUSTER_ID).to_string();
                self.push(
                    Severity::Warning,
                    format!(
                        "{CLUSTER_ID} is not set: Hadoop's RM HA setup requires it (RM components read it and \
                         fail without it); set {CLUSTER_ID}={} in {f}",
                        self.cfg.cluster_id
                    ),
                );
            }
            Some(id) if id != self.cfg.cluster_id => {
                self.push(
                    Severity::Note,
                    format!(
                        "{CLUSTER_ID} is {id} but rmfc's cluster_id is {}: allowed (cluster_id only names rmfc's \
                         znodes), but naming both alike avoids confusion",
                        self.cfg.cluster_id
                    ),
                );
            }
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HttpPolicy {
    HttpOnly,
    HttpsOnly,
    Both,
}

/// An address from the files: its parsed value (`None` when it could not be read) and where it
/// came from, for messages.
#[derive(Debug, Clone)]
struct SiteAddr<'a> {
    value: Option<Addr>,
    /// Which keys it comes from (`yarn.resourcemanager.hostname.rm1 + the default port 8033`).
    source: String,
    /// The key to correct.
    key: String,
    /// The file it came from.
    file: &'a str,
}
