//! `check-config --yarn-site`: reads the RMs' `yarn-site.xml` (Hadoop's
//! `<configuration><property><name>..</name><value>..</value></property>` format) and checks it
//! against an rmfc [`Config`]: the same RM ids and addresses, an RM HA mode that lets rmfc drive
//! the RMs (DESIGN.md "Which RM settings": mode A or B, never the embedded elector), a state store
//! the `zk_state_store` fencing method can rely on, at the path and on the ensemble rmfc looks at,
//! and an admin ACL that lets rmfc's calls through. Every finding says what to change, where.
//!
//! Several files may be given (`core-site.xml` then `yarn-site.xml`, as Hadoop loads them): a
//! later file overrides an earlier one, except for properties marked `<final>`.
//!
//! Owns: a small tolerant XML reader (std only: comments, CDATA, entities, the attribute form of
//! `<property>`), Hadoop's defaults and lookup rules for the RM HA keys, `${var}` expansion from
//! the files given (anything else is left as it is, with a note), and the wording of every
//! finding. Must not: resolve host names, contact ZooKeeper or an RM, read any file but the ones
//! given (no XInclude), or judge the rmfc config on its own (that is `lint`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use super::{Config, FenceMethod};
use crate::hadoop_ipc::RequestSource;

/// ZKRMStateStore's class, the value of `yarn.resourcemanager.store.class` fencing relies on.
pub const ZK_STORE_CLASS: &str = "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore";
/// Hadoop's default `yarn.resourcemanager.store.class` (used only when recovery is enabled).
const DEFAULT_STORE_CLASS: &str = "org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore";
/// Hadoop's default `yarn.resourcemanager.zk-state-store.parent-path`.
const DEFAULT_STORE_PARENT: &str = "/rmstore";
/// The node ZKRMStateStore keeps under its parent path.
const STORE_ROOT_NAME: &str = "ZKRMStateRoot";
/// `Configuration.MAX_SUBST`: how deep Hadoop expands `${var}` references.
const MAX_SUBST: usize = 20;

const HA_ENABLED: &str = "yarn.resourcemanager.ha.enabled";
const RM_IDS: &str = "yarn.resourcemanager.ha.rm-ids";
const HA_ID: &str = "yarn.resourcemanager.ha.id";
const CLUSTER_ID: &str = "yarn.resourcemanager.cluster-id";
const AUTO: &str = "yarn.resourcemanager.ha.automatic-failover.enabled";
const EMBEDDED: &str = "yarn.resourcemanager.ha.automatic-failover.embedded";
const CURATOR: &str = "yarn.resourcemanager.ha.curator-leader-elector.enabled";
const STORE_CLASS: &str = "yarn.resourcemanager.store.class";
const RECOVERY: &str = "yarn.resourcemanager.recovery.enabled";
const STORE_PARENT: &str = "yarn.resourcemanager.zk-state-store.parent-path";
const ZK_ADDRESS: &str = "hadoop.zk.address";
const ZK_ADDRESS_OLD: &str = "yarn.resourcemanager.zk-address";
const ADMIN_ACL: &str = "yarn.admin.acl";
const HTTP_POLICY: &str = "yarn.http.policy";
const HOSTNAME: &str = "yarn.resourcemanager.hostname";
const ADMIN_ADDRESS: &str = "yarn.resourcemanager.admin.address";
const WEB_ADDRESS: &str = "yarn.resourcemanager.webapp.address";
const WEB_HTTPS_ADDRESS: &str = "yarn.resourcemanager.webapp.https.address";
const SECURITY: &str = "hadoop.security.authentication";

// ---------------------------------------------------------------------------------------------
// Reading the files
// ---------------------------------------------------------------------------------------------

/// One property as read: its value (untrimmed, `${var}` not expanded), where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Property {
    value: String,
    is_final: bool,
    file: usize,
    line: usize,
}

/// The properties of one or more Hadoop configuration files, merged as Hadoop merges them.
#[derive(Debug, Clone, Default)]
pub struct YarnSite {
    files: Vec<String>,
    props: BTreeMap<String, Property>,
    /// Things noticed while reading (an XInclude not followed, an unknown entity, a final
    /// property redefined), reported as notes.
    notes: Vec<String>,
}

/// A file that is not a Hadoop configuration file: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

impl YarnSite {
    /// Reads the files in order (later ones override earlier ones, except final properties).
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<YarnSite, String> {
        let mut site = YarnSite::default();
        for p in paths {
            let p = p.as_ref();
            let name = p.display().to_string();
            let text = std::fs::read_to_string(p).map_err(|e| format!("{name}: cannot read: {e}"))?;
            site.add(&name, &text).map_err(|e| e.to_string())?;
        }
        Ok(site)
    }

    /// Parses one file's text and merges its properties in.
    pub fn add(&mut self, name: &str, text: &str) -> Result<(), ParseError> {
        let file = self.files.len();
        self.files.push(name.to_string());
        let parsed = parse(text).map_err(|(line, reason)| ParseError { file: name.to_string(), line, reason })?;
        for note in parsed.notes {
            self.notes.push(format!("{name}: {note}"));
        }
        for p in parsed.props {
            if let Some(old) = self.props.get(&p.name) {
                if old.is_final {
                    self.notes.push(format!(
                        "{} is final in {} (line {}): its later value in {name} (line {}) is ignored, as Hadoop ignores it",
                        p.name, self.files[old.file], old.line, p.line
                    ));
                    continue;
                }
            }
            self.props.insert(p.name, Property { value: p.value, is_final: p.is_final, file, line: p.line });
        }
        Ok(())
    }

    /// Parses one file (for tests and single-file callers).
    pub fn parse(name: &str, text: &str) -> Result<YarnSite, ParseError> {
        let mut site = YarnSite::default();
        site.add(name, text)?;
        Ok(site)
    }

    /// The files read, in order.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The raw value of a property, as written (entities decoded, `${var}` not expanded).
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.props.get(key).map(|p| p.value.as_str())
    }

    /// The value Hadoop would read with `getTrimmed`: `${var}` references to properties of these
    /// files expanded, then trimmed. References to anything else stay as written.
    fn get(&self, key: &str) -> Option<Value> {
        let raw = self.raw(key)?;
        let mut unresolved = BTreeSet::new();
        let text = self.expand(raw, 0, &mut vec![key.to_string()], &mut unresolved);
        Some(Value { text: text.trim().to_string(), unresolved: unresolved.into_iter().collect() })
    }

    fn expand(&self, s: &str, depth: usize, stack: &mut Vec<String>, unresolved: &mut BTreeSet<String>) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            // Hadoop's pattern: \$\{[^\}\$\u0020]+\}
            let end = after.find(['}', '$', ' ']);
            match end {
                Some(e) if e > 0 && after[e..].starts_with('}') => {
                    let var = &after[..e];
                    let known = self.raw(var).filter(|_| depth < MAX_SUBST && !stack.iter().any(|k| k == var));
                    match known {
                        Some(v) => {
                            stack.push(var.to_string());
                            out.push_str(&self.expand(v, depth + 1, stack, unresolved));
                            stack.pop();
                        }
                        None => {
                            unresolved.insert(var.to_string());
                            out.push_str(&rest[start..start + 2 + e + 1]);
                        }
                    }
                    rest = &after[e + 1..];
                }
                _ => {
                    out.push_str("${");
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// The file a property came from, or the last file given (where a missing one belongs).
    fn file_of(&self, key: &str) -> &str {
        let i = self.props.get(key).map_or(self.files.len().saturating_sub(1), |p| p.file);
        self.files.get(i).map_or("yarn-site.xml", String::as_str)
    }

    fn all_files(&self) -> String {
        self.files.join(", ")
    }
}

/// A property's value after expansion, and the `${var}` references that could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Value {
    text: String,
    unresolved: Vec<String>,
}

struct RawProperty {
    name: String,
    value: String,
    is_final: bool,
    line: usize,
}

struct Parsed {
    props: Vec<RawProperty>,
    notes: Vec<String>,
}

/// The property being read and which of its children's text is being collected.
#[derive(Default)]
struct Open {
    name: Option<String>,
    value: Option<String>,
    is_final: Option<String>,
    line: usize,
    collecting: Option<&'static str>,
    text: String,
}

/// Reads a Hadoop configuration file. Errors are `(line, reason)`.
fn parse(text: &str) -> Result<Parsed, (usize, String)> {
    let line_at = |pos: usize| text[..pos.min(text.len())].matches('\n').count() + 1;
    let mut notes = Vec::new();
    let mut props = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut open: Option<Open> = None;
    let mut seen_root = false;
    let mut pos = 0;

    while pos < text.len() {
        let Some(lt) = text[pos..].find('<').map(|i| pos + i) else {
            if !text[pos..].trim().is_empty() {
                if stack.is_empty() {
                    return Err((line_at(pos), "text outside the <configuration> element".into()));
                }
                collect(&mut open, &decode(&text[pos..], &mut notes, line_at(pos)));
            }
            break;
        };
        if lt > pos {
            let chunk = &text[pos..lt];
            if stack.is_empty() && !chunk.trim().is_empty() && !chunk.trim_start().starts_with('\u{feff}') {
                return Err((line_at(pos), "text outside the <configuration> element".into()));
            }
            collect(&mut open, &decode(chunk, &mut notes, line_at(pos)));
        }
        let rest = &text[lt..];
        let find_end = |marker: &str, what: &str| {
            rest.find(marker)
                .map(|i| lt + i + marker.len())
                .ok_or_else(|| (line_at(lt), format!("unterminated {what}")))
        };
        if rest.starts_with("<!--") {
            pos = find_end("-->", "comment (<!-- without -->)")?;
        } else if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            let end = cdata.find("]]>").ok_or_else(|| (line_at(lt), "unterminated CDATA section".to_string()))?;
            collect(&mut open, &cdata[..end]);
            pos = lt + "<![CDATA[".len() + end + 3;
        } else if rest.starts_with("<?") {
            pos = find_end("?>", "processing instruction (<? without ?>)")?;
        } else if rest.starts_with("<!") {
            // <!DOCTYPE ...> with an optional [internal subset].
            let mut depth = 0usize;
            let mut end = None;
            for (i, b) in rest.bytes().enumerate().skip(2) {
                match b {
                    b'[' => depth += 1,
                    b']' => depth = depth.saturating_sub(1),
                    b'>' if depth == 0 => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            pos = lt + end.ok_or_else(|| (line_at(lt), "unterminated <!DOCTYPE".to_string()))? + 1;
        } else if let Some(close) = rest.strip_prefix("</") {
            let end = close.find('>').ok_or_else(|| (line_at(lt), "unterminated end tag".to_string()))?;
            let name = close[..end].trim();
            match stack.pop() {
                Some(top) if top == name => {}
                Some(top) => return Err((line_at(lt), format!("</{name}> closes <{top}>"))),
                None => return Err((line_at(lt), format!("</{name}> without a matching start tag"))),
            }
            end_element(name, stack.len(), &mut open, &mut props);
            pos = lt + 2 + end + 1;
        } else {
            let (tag, len) = start_tag(rest).map_err(|why| (line_at(lt), why))?;
            let line = line_at(lt);
            if stack.is_empty() {
                if seen_root {
                    return Err((line, format!("a second top-level element <{}>", tag.name)));
                }
                if tag.name != "configuration" {
                    return Err((
                        line,
                        format!(
                            "the top-level element is <{}>, not <configuration>: not a Hadoop configuration file",
                            tag.name
                        ),
                    ));
                }
                seen_root = true;
            }
            let mut attr = |k: &str| tag.attrs.iter().find(|(n, _)| n == k).map(|(_, v)| decode(v, &mut notes, line));
            match (stack.len(), tag.name.as_str()) {
                (1, "property") => {
                    open = Some(Open {
                        name: attr("name"),
                        value: attr("value"),
                        is_final: attr("final"),
                        line,
                        ..Open::default()
                    })
                }
                (2, child @ ("name" | "value" | "final")) => {
                    if let Some(o) = open.as_mut() {
                        o.collecting = Some(match child {
                            "name" => "name",
                            "value" => "value",
                            _ => "final",
                        });
                        o.text.clear();
                    }
                }
                (_, name) if name.ends_with("include") && name.contains(':') => {
                    notes.push(format!("line {line}: <{name}> is not followed: check the included file separately"));
                }
                _ => {}
            }
            stack.push(tag.name.clone());
            if tag.self_closing {
                stack.pop();
                end_element(&tag.name, stack.len(), &mut open, &mut props);
            }
            pos = lt + len;
        }
    }
    if let Some(top) = stack.last() {
        return Err((line_at(text.len()), format!("<{top}> is never closed")));
    }
    if !seen_root {
        return Err((1, "no <configuration> element: not a Hadoop configuration file".into()));
    }
    Ok(Parsed { props, notes })
}

fn collect(open: &mut Option<Open>, s: &str) {
    if let Some(o) = open.as_mut() {
        if o.collecting.is_some() {
            o.text.push_str(s);
        }
    }
}

/// An element closed; `depth` is the depth of its parent.
fn end_element(name: &str, depth: usize, open: &mut Option<Open>, props: &mut Vec<RawProperty>) {
    match (depth, name) {
        (1, "property") => {
            if let Some(o) = open.take() {
                // Hadoop trims names and skips properties without one; values are kept as written.
                if let Some(n) = o.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) {
                    let is_final = o.is_final.is_some_and(|f| f.trim() == "true");
                    props.push(RawProperty { name: n, value: o.value.unwrap_or_default(), is_final, line: o.line });
                }
            }
        }
        (2, "name" | "value" | "final") => {
            if let Some(o) = open.as_mut() {
                let text = std::mem::take(&mut o.text);
                match o.collecting.take() {
                    Some("name") => o.name = Some(text),
                    Some("value") => o.value = Some(text),
                    Some("final") => o.is_final = Some(text),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

struct StartTag {
    name: String,
    attrs: Vec<(String, String)>,
    self_closing: bool,
}

/// `<name attr="v" ...>` or `.../>` at the start of `s`; returns the tag and its length.
fn start_tag(s: &str) -> Result<(StartTag, usize), String> {
    let b = s.as_bytes();
    let is_name = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':') || c >= 0x80;
    let mut i = 1;
    while i < b.len() && is_name(b[i]) {
        i += 1;
    }
    if i == 1 {
        return Err("a '<' that starts no tag (write &lt; for a literal '<')".into());
    }
    let name = s[1..i].to_string();
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        match b.get(i) {
            None => return Err(format!("unterminated tag <{name}")),
            Some(b'>') => return Ok((StartTag { name, attrs, self_closing: false }, i + 1)),
            Some(b'/') if b.get(i + 1) == Some(&b'>') => {
                return Ok((StartTag { name, attrs, self_closing: true }, i + 2));
            }
            Some(_) => {
                let start = i;
                while i < b.len() && is_name(b[i]) {
                    i += 1;
                }
                if i == start {
                    return Err(format!("unexpected {:?} in tag <{name}>", s[i..].chars().next().unwrap_or(' ')));
                }
                let attr = s[start..i].to_string();
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                if b.get(i) != Some(&b'=') {
                    return Err(format!("attribute {attr} of <{name}> has no value"));
                }
                i += 1;
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                let quote = match b.get(i) {
                    Some(q @ (b'"' | b'\'')) => *q,
                    _ => return Err(format!("the value of attribute {attr} of <{name}> is not quoted")),
                };
                let vstart = i + 1;
                let vend = s[vstart..]
                    .find(quote as char)
                    .map(|j| vstart + j)
                    .ok_or_else(|| format!("unterminated value of attribute {attr} of <{name}>"))?;
                attrs.push((attr, s[vstart..vend].to_string()));
                i = vend + 1;
            }
        }
    }
}

/// Decodes the five XML entities and character references; anything else stays as written.
fn decode(s: &str, notes: &mut Vec<String>, line: usize) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let entity = after.find(';').filter(|&e| e <= 10).map(|e| &after[..e]);
        let decoded = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => {
                let n = if let Some(hex) = e.strip_prefix("#x").or_else(|| e.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    e.strip_prefix('#').and_then(|d| d.parse().ok())
                };
                n.and_then(char::from_u32)
            }
        });
        match (entity, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &after[e.len() + 1..];
            }
            _ => {
                let shown: String = after.chars().take(12).collect();
                notes.push(format!(
                    "line {line}: \"&{shown}\" is not an XML entity; read as written (write &amp; for '&')"
                ));
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------------

/// How bad a finding is: an error fails `check-config`; a warning and a note do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One thing the operator should know about the RM settings, saying what to change where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "yarn-site: {}: {}", self.severity.name(), self.message)
    }
}

/// How the RMs are set up to be driven (DESIGN.md "Which RM settings").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `yarn.resourcemanager.ha.enabled` is not true.
    HaDisabled,
    /// `automatic-failover.enabled=false`: rmfc sends REQUEST_BY_USER (or forced).
    A,
    /// `automatic-failover.enabled=true, embedded=false, curator-leader-elector.enabled=true`.
    B,
    /// Automatic failover with an embedded elector (the defaults): it would fight rmfc.
    EmbeddedElector,
    /// `enabled=true, embedded=false, curator=false`: the RM refuses to start.
    Invalid,
    /// A setting refers to a `${var}` these files do not define.
    Unknown,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::HaDisabled => "ha_disabled",
            Mode::A => "A",
            Mode::B => "B",
            Mode::EmbeddedElector => "embedded_elector",
            Mode::Invalid => "invalid",
            Mode::Unknown => "unknown",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Mode::HaDisabled => "HA disabled (rmfc cannot drive these RMs)",
            Mode::A => "A (automatic-failover.enabled=false: the RM accepts REQUEST_BY_USER)",
            Mode::B => "B (automatic failover without an elector: the RM accepts REQUEST_BY_ZKFC)",
            Mode::EmbeddedElector => "embedded elector (it would fight rmfc)",
            Mode::Invalid => "invalid (the RM refuses to start)",
            Mode::Unknown => "unknown (a setting refers to an undefined ${...})",
        }
    }
}

/// What the files say about one RM (addresses as rmfc would write them; `None` when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRm {
    pub admin_address: Option<String>,
    pub web_address: Option<String>,
}

/// The outcome of checking the files against a config.
#[derive(Debug, Clone)]
pub struct Report {
    pub files: Vec<String>,
    pub mode: Mode,
    pub rm_ids: Vec<String>,
    pub resource_managers: BTreeMap<String, SiteRm>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }
    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
}

/// A boolean setting as Hadoop reads it (`getBoolean`: trimmed, case-insensitive, anything else
/// means the default).
struct Flag {
    key: &'static str,
    /// `None`: it refers to an undefined `${var}`.
    value: Option<bool>,
    set: bool,
    /// What was written when Hadoop could not read it as a boolean (and used the default).
    invalid: Option<String>,
}

impl Flag {
    /// `key=value`, saying when the value is Hadoop's default.
    fn show(&self) -> String {
        match (self.value, self.set) {
            (Some(v), _) if self.invalid.is_some() => {
                format!(
                    "{}={v} ({:?} is not a boolean: Hadoop's default)",
                    self.key,
                    self.invalid.as_deref().unwrap_or("")
                )
            }
            (Some(v), true) => format!("{}={v}", self.key),
            (Some(v), false) => format!("{}={v} (not set: Hadoop's default)", self.key),
            (None, _) => format!("{} (undefined ${{...}})", self.key),
        }
    }
}

struct Checker<'a> {
    site: &'a YarnSite,
    cfg: &'a Config,
    cfg_file: &'a str,
    out: Vec<Finding>,
    noted_unresolved: BTreeSet<String>,
}

/// Checks the RM settings in `site` against `cfg` (read from `cfg_file`, named in messages).
pub fn check(site: &YarnSite, cfg: &Config, cfg_file: &str) -> Report {
    let mut c = Checker { site, cfg, cfg_file, out: Vec::new(), noted_unresolved: BTreeSet::new() };
    for n in &site.notes {
        c.push(Severity::Note, n.clone());
    }
    let mode = c.mode();
    c.request_source(mode);
    let (rm_ids, rms) = c.resource_managers();
    c.cluster();
    c.store();
    c.security();
    // Errors first, then warnings, then notes; each group in the order found.
    c.out.sort_by_key(|f| f.severity);
    Report { files: site.files.clone(), mode, rm_ids, resource_managers: rms, findings: c.out }
}

impl<'a> Checker<'a> {
    fn push(&mut self, severity: Severity, message: impl Into<String>) {
        self.out.push(Finding { severity, message: message.into() });
    }

    fn file(&self, key: &str) -> &'a str {
        self.site.file_of(key)
    }

    /// The expanded value; a note for each `${var}` it refers to that the files do not define.
    fn value(&mut self, key: &str) -> Option<Value> {
        let v = self.site.get(key)?;
        if !v.unresolved.is_empty() && self.noted_unresolved.insert(key.to_string()) {
            let vars: Vec<String> = v.unresolved.iter().map(|u| format!("${{{u}}}")).collect();
            self.push(
                Severity::Note,
                format!(
                    "{key}={:?} (in {}) refers to {}, which {} does not define (Hadoop would look in its other \
                     configuration files, Java system properties or the environment): left as written, and {key} \
                     is not checked",
                    v.text,
                    self.file(key),
                    vars.join(", "),
                    self.site.all_files(),
                ),
            );
        }
        Some(v)
    }

    /// The expanded value, or `None` when unset or not fully expanded.
    fn known(&mut self, key: &str) -> Option<String> {
        self.value(key).filter(|v| v.unresolved.is_empty()).map(|v| v.text)
    }

    fn flag(&mut self, key: &'static str, default: bool) -> Flag {
        let Some(v) = self.value(key) else { return Flag { key, value: Some(default), set: false, invalid: None } };
        if !v.unresolved.is_empty() {
            return Flag { key, value: None, set: true, invalid: None };
        }
        match v.text.to_ascii_lowercase().as_str() {
            "true" => Flag { key, value: Some(true), set: true, invalid: None },
            "false" => Flag { key, value: Some(false), set: true, invalid: None },
            _ => {
                self.push(
                    Severity::Warning,
                    format!(
                        "{key} is {:?} in {}, which Hadoop does not read as true or false: it uses the default, \
                         {default}; write {key}={default} (or the value you mean) in {}",
                        v.text,
                        self.file(key),
                        self.file(key)
                    ),
                );
                Flag { key, value: Some(default), set: true, invalid: Some(v.text) }
            }
        }
    }

    fn mode(&mut self) -> Mode {
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

    fn request_source(&mut self, mode: Mode) {
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
    fn resource_managers(&mut self) -> (Vec<String>, BTreeMap<String, SiteRm>) {
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
    fn missing_address(&mut self, id: &str, admin: bool, web: bool, policy: HttpPolicy, ep: &super::RmEndpoint) {
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

    fn cluster(&mut self) {
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

    /// State store and the `zk_state_store` fencing method; the ZooKeeper ensemble they share.
    fn store(&mut self) {
        let recovery = self.flag(RECOVERY, false);
        let class = self.known(STORE_CLASS);
        let class_unresolved = self.site.raw(STORE_CLASS).is_some() && class.is_none();
        let class_text = class.clone().unwrap_or_else(|| DEFAULT_STORE_CLASS.to_string());
        let zk_store = recovery.value == Some(true) && class_text.ends_with("ZKRMStateStore");
        let store_unknown = recovery.value.is_none() || class_unresolved;
        let methods: Vec<(usize, String)> = self
            .cfg
            .fencing
            .methods
            .iter()
            .enumerate()
            .filter_map(|(i, m)| match m {
                FenceMethod::ZkStateStore { path, .. } => Some((i, path.clone())),
                _ => None,
            })
            .collect();
        let rf = self.file(RECOVERY).to_string();
        let cf = self.file(STORE_CLASS).to_string();

        if !zk_store && !store_unknown {
            let why = if recovery.value == Some(false) {
                format!("the RMs run without a state store ({}: they use NullRMStateStore)", recovery.show())
            } else if class.is_none() {
                format!(
                    "the RMs keep their state in {DEFAULT_STORE_CLASS} ({STORE_CLASS} is not set: Hadoop's default)"
                )
            } else {
                format!("the RMs keep their state in {class_text} ({STORE_CLASS} in {cf})")
            };
            let set_store = if rf == cf {
                format!("set {RECOVERY}=true and {STORE_CLASS}={ZK_STORE_CLASS} (and {ZK_ADDRESS}) in {rf}")
            } else {
                format!("set {RECOVERY}=true in {rf} and {STORE_CLASS}={ZK_STORE_CLASS} (and {ZK_ADDRESS}) in {cf}")
            };
            if let Some((i, _)) = methods.first() {
                self.push(
                    Severity::Error,
                    format!(
                        "fencing.methods[{i}] (zk_state_store) in {} relies on ZKRMStateStore fencing, but {why}: \
                         nothing stops an old active from writing, and rmfc cannot confirm it is fenced. Either \
                         {set_store}, or replace fencing.methods[{i}] in {} with a shell or http method that fences \
                         the RM's host (STONITH)",
                        self.cfg_file, self.cfg_file
                    ),
                );
            } else if self.cfg.fencing.methods.is_empty() {
                self.push(
                    Severity::Warning,
                    format!(
                        "{why}, and fencing.methods in {} is empty: a hung active can be fenced by nothing but \
                         transitionToStandby, so rmfc will not fail over from it; {set_store}, or add a shell or \
                         http fencing method",
                        self.cfg_file
                    ),
                );
            }
        }
        if !zk_store {
            return;
        }

        let parent_value = self.known(STORE_PARENT);
        if self.site.raw(STORE_PARENT).is_some() && parent_value.is_none() {
            return; // noted as unresolved
        }
        let parent = parent_value.clone().unwrap_or_else(|| DEFAULT_STORE_PARENT.to_string());
        let store_root = format!("{}/{STORE_ROOT_NAME}", parent.trim_end_matches('/'));
        let parent_shown = if parent_value.is_some() {
            format!("{STORE_PARENT}={parent} in {}", self.file(STORE_PARENT))
        } else {
            format!("{STORE_PARENT} not set: {DEFAULT_STORE_PARENT}")
        };

        // The ensemble the RMs use: hadoop.zk.address, or the deprecated key.
        let zk_key = if self.site.raw(ZK_ADDRESS).is_some() {
            if let (Some(old), Some(new)) = (self.known(ZK_ADDRESS_OLD), self.known(ZK_ADDRESS)) {
                if old != new {
                    self.push(
                        Severity::Warning,
                        format!(
                            "both {ZK_ADDRESS} ({new}) and the deprecated {ZK_ADDRESS_OLD} ({old}) are set, to \
                             different ensembles; remove {ZK_ADDRESS_OLD} from {}",
                            self.file(ZK_ADDRESS_OLD)
                        ),
                    );
                }
            }
            Some(ZK_ADDRESS)
        } else if self.site.raw(ZK_ADDRESS_OLD).is_some() {
            self.push(
                Severity::Note,
                format!(
                    "{ZK_ADDRESS_OLD} is deprecated (Hadoop reads it as {ZK_ADDRESS}); rename it {ZK_ADDRESS} in {}",
                    self.file(ZK_ADDRESS_OLD)
                ),
            );
            Some(ZK_ADDRESS_OLD)
        } else {
            self.push(
                Severity::Warning,
                format!(
                    "{ZK_ADDRESS} is not set in {}: ZKRMStateStore needs it. If it is in core-site.xml, check both \
                     (--yarn-site core-site.xml --yarn-site yarn-site.xml); otherwise set {ZK_ADDRESS}={} in {}. \
                     The ensembles were not compared",
                    self.site.all_files(),
                    self.cfg.zookeeper.connect,
                    self.file(ZK_ADDRESS)
                ),
            );
            None
        };
        let site_zk = zk_key.and_then(|k| self.known(k).map(|v| (k, v)));
        let site_zk = match site_zk {
            Some((k, v)) => match ZkConnect::parse(&v) {
                Some(z) => Some((k, v, z)),
                None => {
                    let f = self.file(k).to_string();
                    self.push(
                        Severity::Warning,
                        format!("{k} is {v:?} in {f}: not a ZooKeeper connect string (HOST:PORT,...[/chroot])"),
                    );
                    None
                }
            },
            None => None,
        };
        let Some(rmfc_zk) = ZkConnect::parse(&self.cfg.zookeeper.connect) else { return };
        if methods.is_empty() {
            return;
        }

        if let Some((k, v, z)) = &site_zk {
            if z.servers != rmfc_zk.servers {
                let f = self.file(k).to_string();
                self.push(
                    Severity::Warning,
                    format!(
                        "the RMs keep their state store on {k}={v} (in {f}) but rmfc's zookeeper.connect is {} (in \
                         {}), and the zk_state_store fencing method checks the store through zookeeper.connect: it \
                         would look at another ensemble; make both name the same ZooKeeper servers",
                        self.cfg.zookeeper.connect, self.cfg_file
                    ),
                );
            }
        }
        // Compare absolute znode paths: each side's chroot + its path.
        let site_chroot = site_zk.as_ref().map_or(rmfc_zk.chroot.as_str(), |(_, _, z)| z.chroot.as_str()).to_string();
        let site_abs = format!("{site_chroot}{store_root}");
        for (i, path) in methods {
            let rmfc_abs = format!("{}{path}", rmfc_zk.chroot);
            if rmfc_abs == site_abs {
                continue;
            }
            let chroot_note = if site_chroot.is_empty() && rmfc_zk.chroot.is_empty() {
                String::new()
            } else {
                format!(
                    " (as absolute znodes: the RMs' {site_abs}, rmfc's {rmfc_abs}, with zookeeper.connect's chroot {:?})",
                    rmfc_zk.chroot
                )
            };
            let fix = match site_abs.strip_prefix(&rmfc_zk.chroot) {
                Some(rel) if rmfc_zk.chroot.is_empty() || rel.starts_with('/') => {
                    format!("set fencing.methods[{i}].path: {rel} in {}", self.cfg_file)
                }
                _ => format!(
                    "the store lies outside the chroot {} of zookeeper.connect: change zookeeper.connect in {} so \
                     that it reaches {site_abs}",
                    rmfc_zk.chroot, self.cfg_file
                ),
            };
            self.push(
                Severity::Error,
                format!(
                    "fencing.methods[{i}].path is {path} in {}, but the RMs' ZKRMStateStore root is {store_root} \
                     ({parent_shown}, + /{STORE_ROOT_NAME}){chroot_note}: rmfc would verify the fencing on the wrong \
                     znode; {fix}",
                    self.cfg_file
                ),
            );
        }
    }

    /// Who may make HA calls, and whether rmfc can authenticate at all.
    fn security(&mut self) {
        if let Some(auth) = self.known(SECURITY) {
            if auth.eq_ignore_ascii_case("kerberos") {
                let f = self.file(SECURITY).to_string();
                self.push(
                    Severity::Error,
                    format!(
                        "{SECURITY}=kerberos (in {f}): the RMs require Kerberos (SASL GSSAPI), which this rmfc build \
                         does not speak, so every HA call would be refused; run rmfc against RMs with \
                         {SECURITY}=simple"
                    ),
                );
            }
        }
        let Some(acl) = self.known(ADMIN_ACL) else { return };
        if acl.trim() == "*" {
            return;
        }
        let f = self.file(ADMIN_ACL).to_string();
        // AccessControlList: "user1,user2 group1,group2" (users, a space, groups).
        let (users, groups) = acl.split_once(' ').unwrap_or((acl.as_str(), ""));
        let users: Vec<&str> = users.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let groups: Vec<&str> = groups.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let groups_text =
            if groups.is_empty() { String::new() } else { format!(" or a member of group {}", groups.join(", ")) };
        match &self.cfg.health.user {
            Some(u) if users.iter().any(|x| x == u) => {}
            Some(u) => self.push(
                Severity::Warning,
                format!(
                    "{ADMIN_ACL}={acl:?} (in {f}) does not list {u}, the user rmfc calls as (health.user in {}): \
                     unless {u} is the user the RMs run as{groups_text}, every HA call is refused \
                     (AccessControlException); add {u} to {ADMIN_ACL} in {f}, or set health.user to a listed user",
                    self.cfg_file
                ),
            ),
            None => self.push(
                Severity::Warning,
                format!(
                    "{ADMIN_ACL}={acl:?} (in {f}) limits who may make HA calls, and rmfc calls as the OS user that \
                     runs it (health.user is not set in {}; User=rmfc in deploy/rmfc.service): set health.user in \
                     {} to {}, or add that OS user to {ADMIN_ACL} in {f}",
                    self.cfg_file,
                    self.cfg_file,
                    users.first().map_or_else(|| "a listed user (or the RMs' own user)".to_string(), |u| u.to_string())
                ),
            ),
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

#[derive(Debug, Clone, PartialEq, Eq)]
struct Addr {
    host: String,
    port: u16,
    https: bool,
}

impl Addr {
    /// `HOST[:PORT]` or `[V6][:PORT]`; a missing port means `default_port` (0: required).
    fn parse_host_port(s: &str, default_port: u16) -> Option<Addr> {
        let s = s.trim();
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, after) = rest.split_once(']')?;
            (h, after.strip_prefix(':'))
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, Some(p)),
                Some(_) => return None,
                None => (s, None),
            }
        };
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0)?,
            None if default_port != 0 => default_port,
            None => return None,
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
            return None;
        }
        Some(Addr { host: host.trim_end_matches('.').to_ascii_lowercase(), port, https: false })
    }

    /// `http(s)://HOST[:PORT][/path]`: the address and the path.
    fn parse_url(s: &str) -> Option<(Addr, String)> {
        let (https, rest) =
            if let Some(r) = s.strip_prefix("https://") { (true, r) } else { (false, s.strip_prefix("http://")?) };
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let mut a = Addr::parse_host_port(authority, if https { 443 } else { 80 })?;
        a.https = https;
        Some((a, path.trim_end_matches('/').to_string()))
    }

    fn bracketed_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    fn host_port(&self) -> String {
        format!("{}:{}", self.bracketed_host(), self.port)
    }

    fn url(&self) -> String {
        format!("{}://{}:{}", if self.https { "https" } else { "http" }, self.bracketed_host(), self.port)
    }

    fn is_ip(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }

    fn is_wildcard(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
    }
}

/// A ZooKeeper connect string: the set of servers (default port 2181) and the chroot ("" if none).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ZkConnect {
    servers: BTreeSet<String>,
    chroot: String,
}

impl ZkConnect {
    fn parse(s: &str) -> Option<ZkConnect> {
        let s = s.trim();
        let (hosts, chroot) = s.find('/').map_or((s, ""), |i| (&s[..i], &s[i..]));
        let mut servers = BTreeSet::new();
        for h in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            servers.insert(Addr::parse_host_port(h, 2181)?.host_port());
        }
        if servers.is_empty() {
            return None;
        }
        Some(ZkConnect { servers, chroot: chroot.trim_end_matches('/').to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::MINIMAL;

    const MODE_A: &str = include_str!("../../deploy/yarn-site-mode-a.xml");
    const MODE_B: &str = include_str!("../../deploy/yarn-site-mode-b.xml");

    /// The rmfc config that matches deploy/yarn-site-mode-a.xml.
    fn config(extra: &str) -> Config {
        let yaml = MINIMAL.replace(
            "connect: zk1:2181,zk2:2181,zk3:2181",
            "connect: zk1.example.com:2181,zk2.example.com:2181,zk3.example.com:2181",
        );
        Config::from_yaml_str(&format!("{yaml}{extra}")).expect("valid test config")
    }

    /// `<configuration>` with these properties.
    fn xml(props: &[(&str, &str)]) -> String {
        let mut s = String::from("<?xml version=\"1.0\"?>\n<configuration>\n");
        for (k, v) in props {
            s.push_str(&format!("  <property>\n    <name>{k}</name>\n    <value>{v}</value>\n  </property>\n"));
        }
        s.push_str("</configuration>\n");
        s
    }

    /// The properties of deploy/yarn-site-mode-a.xml.
    fn mode_a_props() -> Vec<(String, String)> {
        let site = YarnSite::parse("a.xml", MODE_A).unwrap();
        site.props.iter().map(|(k, p)| (k.clone(), p.value.clone())).collect()
    }

    /// Property changes to mode A: `Some(v)` sets, `None` removes.
    type Changes = &'static [(&'static str, Option<&'static str>)];

    /// Mode A's properties with `changes` applied: `Some(v)` sets, `None` removes.
    fn site_with(changes: &[(&str, Option<&str>)]) -> YarnSite {
        let mut props = mode_a_props();
        for (k, v) in changes {
            props.retain(|(pk, _)| pk != k);
            if let Some(v) = v {
                props.push((k.to_string(), v.to_string()));
            }
        }
        let refs: Vec<(&str, &str)> = props.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        YarnSite::parse("yarn-site.xml", &xml(&refs)).unwrap()
    }

    fn findings(site: &YarnSite, cfg: &Config) -> Vec<String> {
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
                &[(SECURITY, Some("kerberos"))],
                "",
                "yarn-site: error: hadoop.security.authentication=kerberos (in yarn-site.xml)",
                &["does not speak"],
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
            (
                &[("yarn.resourcemanager.admin.address.rm1", None), ("yarn.resourcemanager.webapp.address.rm1", None)],
                "",
            ),
            (&[("yarn.resourcemanager.admin.address.rm1", Some("${yarn.resourcemanager.hostname.rm1}:8033"))], ""),
            (&[(HA_ID, Some("rm1"))], ""),
            (&[(SECURITY, Some("simple"))], ""),
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

    #[test]
    fn the_reader_handles_comments_cdata_entities_attributes_and_final() {
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="configuration.xsl"?>
<!DOCTYPE configuration [ <!ENTITY x "y"> ]>
<!-- a comment with <property> inside -->
<configuration xmlns:xi="http://www.w3.org/2001/XInclude">
  <xi:include href="other.xml"/>
  <property>
    <name>
      a.b
    </name>
    <value>  one &amp; two &lt;&#65;&#x42;&gt; &quot;q&quot; &apos;s&apos; </value>
    <description>ignored <b>bold</b></description>
  </property>
  <property><name>c</name><value><![CDATA[x<y&z]]></value><final>true</final></property>
  <property name="d" value="attr &amp; form"/>
  <property><name>e</name><value/></property>
  <property><value>no name</value></property>
  <property><name>f</name><value>&nbsp;</value></property>
</configuration>
"#;
        let mut site = YarnSite::parse("x.xml", text).unwrap();
        assert_eq!(site.raw("a.b"), Some("  one & two <AB> \"q\" 's' "));
        assert_eq!(site.get("a.b").unwrap().text, "one & two <AB> \"q\" 's'");
        assert_eq!(site.raw("c"), Some("x<y&z"));
        assert_eq!(site.raw("d"), Some("attr & form"));
        assert_eq!(site.raw("e"), Some(""));
        assert_eq!(site.raw("f"), Some("&nbsp;"));
        assert_eq!(site.props.len(), 5);
        assert!(site.notes.iter().any(|n| n.contains("<xi:include> is not followed")), "{:#?}", site.notes);
        assert!(site.notes.iter().any(|n| n.contains("\"&nbsp;\" is not an XML entity")), "{:#?}", site.notes);

        // A later file overrides, except a final property.
        site.add("y.xml", &xml(&[("a.b", "new"), ("c", "new")])).unwrap();
        assert_eq!(site.raw("a.b"), Some("new"));
        assert_eq!(site.raw("c"), Some("x<y&z"));
        assert!(site.notes.iter().any(|n| n.starts_with("c is final in x.xml (line 14)")), "{:#?}", site.notes);
        assert_eq!(site.file_of("a.b"), "y.xml");
        assert_eq!(site.file_of("c"), "x.xml");
        assert_eq!(site.file_of("missing"), "y.xml");
    }

    #[test]
    fn variables_expand_from_the_files_like_hadoop() {
        let site = YarnSite::parse(
            "x.xml",
            &xml(&[
                ("host", "rm1.example.com"),
                ("addr", "${host}:${port}"),
                ("port", "8033"),
                ("loop", "${loop}x"),
                ("env", "${env.HOME}/x"),
                ("odd", "$ {host} ${} ${a b}"),
            ]),
        )
        .unwrap();
        assert_eq!(site.get("addr").unwrap(), Value { text: "rm1.example.com:8033".into(), unresolved: vec![] });
        assert_eq!(site.get("loop").unwrap().unresolved, ["loop"]);
        assert_eq!(
            site.get("env").unwrap(),
            Value { text: "${env.HOME}/x".into(), unresolved: vec!["env.HOME".into()] }
        );
        assert_eq!(site.get("odd").unwrap(), Value { text: "$ {host} ${} ${a b}".into(), unresolved: vec![] });
    }

    #[test]
    fn broken_files_are_refused_with_the_line() {
        for (text, line, why) in [
            ("", 1, "no <configuration> element"),
            ("<foo></foo>", 1, "not <configuration>"),
            ("<configuration>\n<property>\n</configuration>", 3, "</configuration> closes <property>"),
            ("<configuration>\n<!-- open", 2, "unterminated comment"),
            ("<configuration>\n<property><name>x</name>", 2, "<property> is never closed"),
            ("<configuration>\n<a b=c></a></configuration>", 2, "is not quoted"),
            ("<configuration/>\n<configuration/>", 2, "a second top-level element"),
            ("junk <configuration/>", 1, "text outside"),
            ("<configuration>\n< x</configuration>", 2, "starts no tag"),
        ] {
            let e = YarnSite::parse("f.xml", text).err().unwrap_or_else(|| panic!("accepted {text:?}"));
            assert_eq!((e.line, e.file.as_str()), (line, "f.xml"), "{text:?}: {e}");
            assert!(e.reason.contains(why), "{text:?}: {e}");
        }
        assert!(YarnSite::parse("f.xml", "\u{feff}<configuration/>").is_ok());
    }

    #[test]
    fn addresses_and_connect_strings_parse() {
        assert_eq!(Addr::parse_host_port("RM1.Example.com.:8033", 1).unwrap().host_port(), "rm1.example.com:8033");
        assert_eq!(Addr::parse_host_port("rm1", 8033).unwrap().host_port(), "rm1:8033");
        assert_eq!(Addr::parse_host_port("[::1]", 8033).unwrap().host_port(), "[::1]:8033");
        assert!(Addr::parse_host_port("rm1", 0).is_none());
        assert!(Addr::parse_host_port("rm1:x", 1).is_none());
        assert!(Addr::parse_host_port("::1:8033", 1).is_none());
        assert_eq!(Addr::parse_url("https://rm1").unwrap().0.url(), "https://rm1:443");
        assert_eq!(Addr::parse_url("http://rm1:80/p/").unwrap().1, "p");
        let z = ZkConnect::parse("b:2181, a/x/").unwrap();
        assert_eq!(
            (z.servers.into_iter().collect::<Vec<_>>(), z.chroot.as_str()),
            (vec!["a:2181".into(), "b:2181".into()], "/x")
        );
        assert!(ZkConnect::parse("/x").is_none());
    }
}
