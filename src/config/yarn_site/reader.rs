//! Reading Hadoop configuration files: a small tolerant XML reader (std only: comments, CDATA,
//! entities, the attribute form of `<property>`), the merge of several files as Hadoop merges them
//! (later overrides earlier, except `<final>`), and `${var}` expansion from the files given.
//!
//! Owns: [`YarnSite`], the properties as read, and what was noticed while reading. Must not: judge
//! any value (that is the checks beside it), follow an XInclude or read a file it was not given.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use super::MAX_SUBST;

/// One property as read: its value (untrimmed, `${var}` not expanded), where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Property {
    pub(super) value: String,
    pub(super) is_final: bool,
    pub(super) file: usize,
    pub(super) line: usize,
}

/// The properties of one or more Hadoop configuration files, merged as Hadoop merges them.
#[derive(Debug, Clone, Default)]
pub struct YarnSite {
    pub(super) files: Vec<String>,
    pub(super) props: BTreeMap<String, Property>,
    /// Things noticed while reading (an XInclude not followed, an unknown entity, a final
    /// property redefined), reported as notes.
    pub(super) notes: Vec<String>,
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
    pub(super) fn get(&self, key: &str) -> Option<Value> {
        self.get_untrimmed(key).map(|v| Value { text: v.text.trim().to_string(), ..v })
    }

    /// The value Hadoop would read with plain `get`: expanded, white space kept. Access control
    /// lists need it: their one space separates users from groups (`" hadoop"` is a group).
    pub(super) fn get_untrimmed(&self, key: &str) -> Option<Value> {
        let raw = self.raw(key)?;
        let mut unresolved = BTreeSet::new();
        let text = self.expand(raw, 0, &mut vec![key.to_string()], &mut unresolved);
        Some(Value { text, unresolved: unresolved.into_iter().collect() })
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
    pub(super) fn file_of(&self, key: &str) -> &str {
        let i = self.props.get(key).map_or(self.files.len().saturating_sub(1), |p| p.file);
        self.files.get(i).map_or("yarn-site.xml", String::as_str)
    }

    pub(super) fn all_files(&self) -> String {
        self.files.join(", ")
    }
}

/// A property's value after expansion, and the `${var}` references that could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Value {
    pub(super) text: String,
    pub(super) unresolved: Vec<String>,
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
            // XML forbids "--" inside a comment, and Hadoop's parser enforces it: the daemon
            // reading this file would not start.
            let body = &text[lt + 4..pos - 3];
            if let Some(at) = body.find("--").or_else(|| body.ends_with('-').then(|| body.len() - 1)) {
                return Err((
                    line_at(lt + 4 + at),
                    "\"--\" inside a comment, which XML forbids (Hadoop's parser refuses the file): write it \
                     otherwise"
                        .into(),
                ));
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::yarn_site::tests::xml;

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
            ("<configuration>\n<!-- run\n  rmfc --help -->\n</configuration>", 3, "\"--\" inside a comment"),
            ("<configuration><!-- a dash at the end ---></configuration>", 1, "\"--\" inside a comment"),
        ] {
            let e = YarnSite::parse("f.xml", text).err().unwrap_or_else(|| panic!("accepted {text:?}"));
            assert_eq!((e.line, e.file.as_str()), (line, "f.xml"), "{text:?}: {e}");
            assert!(e.reason.contains(why), "{text:?}: {e}");
        }
        assert!(YarnSite::parse("f.xml", "\u{feff}<configuration/>").is_ok());
    }
}
