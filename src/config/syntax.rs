//! The small grammars of config values: durations, ids, `HOST:PORT`, http(s) URLs, znode paths
//! and the ZooKeeper connect string. Each parser returns the reason an operator should read
//! (without the key's path, which the caller adds).
//!
//! Owns: what a well-formed value looks like. Must not: resolve names, touch the network or the
//! file system.

use std::time::Duration;

/// A humantime duration (`500ms`, `10s`, `2m`, `1m 30s`).
pub(super) fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

/// Ids (cluster, RMs) end up in znode names: `[A-Za-z0-9_.-]+`, and not `.` or `..` (which
/// ZooKeeper refuses as path components).
pub(super) fn id(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))) {
        return Err(format!("{s:?} contains {c:?}: only letters, digits, '_', '.' and '-' are allowed"));
    }
    if s == "." || s == ".." {
        return Err(format!("{s:?} is not allowed (ZooKeeper refuses it as a znode name)"));
    }
    Ok(())
}

/// A host name or IP address (IPv6 in brackets), then `:PORT`. Returns `(host, port)`.
pub(super) fn host_port(s: &str) -> Result<(String, u16), String> {
    let bad = |why: &str| Err(format!("{s:?} is not HOST:PORT ({why})"));
    if s.contains("://") {
        return bad("no scheme here, just host and port, e.g. rm1.example.com:8033");
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((h, after)) = rest.split_once(']') else { return bad("missing ']' after the IPv6 address") };
        let Some(p) = after.strip_prefix(':') else { return bad("the port is missing") };
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return bad("not an IPv6 address between the brackets");
        }
        (h, p)
    } else {
        let Some((h, p)) = s.rsplit_once(':') else { return bad("the port is missing") };
        if h.contains(':') {
            return bad("write IPv6 addresses in brackets, e.g. [::1]:8033");
        }
        if let Err(why) = hostname(h) {
            return bad(&why);
        }
        (h, p)
    };
    match port.parse::<u16>() {
        Ok(p) if p != 0 && port.chars().all(|c| c.is_ascii_digit()) => Ok((host.to_string(), p)),
        _ => bad("port must be a number 1-65535"),
    }
}

/// A DNS name or IPv4 address.
pub(super) fn hostname(h: &str) -> Result<(), String> {
    if h.is_empty() {
        return Err("the host is missing".into());
    }
    if let Some(c) = h.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))) {
        return Err(format!("{c:?} cannot appear in a host name"));
    }
    if h.split('.').any(str::is_empty) {
        return Err("empty label in the host name".into());
    }
    Ok(())
}

/// `http(s)://HOST[:PORT][/path]` without query or fragment; returns it without a trailing `/`.
/// `userinfo@` is accepted only when `allow_userinfo` (fencing URLs of power/cloud APIs).
pub(super) fn http_url(s: &str, allow_userinfo: bool) -> Result<String, String> {
    let bad = |why: &str| Err(format!("{s:?} is not an http(s) URL ({why})"));
    let Some((scheme, rest)) = s.split_once("://") else {
        return bad("it must start with http:// or https://");
    };
    if scheme != "http" && scheme != "https" {
        return bad("the scheme must be http or https");
    }
    if s.contains(['?', '#']) || s.contains(char::is_whitespace) {
        return bad("no query, fragment or spaces");
    }
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let hostport = match authority.rsplit_once('@') {
        Some(_) if !allow_userinfo => return bad("no user or password here"),
        Some((_, hp)) => hp,
        None => authority,
    };
    let host_ok = if hostport.starts_with('[') || hostport.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']')) {
        host_port(hostport).map(|_| ())
    } else {
        hostname(hostport)
    };
    if let Err(why) = host_ok {
        return bad(&why);
    }
    let path = path.trim_end_matches('/');
    Ok(if path.is_empty() { format!("{scheme}://{authority}") } else { format!("{scheme}://{authority}/{path}") })
}

/// An absolute znode path: starts with `/`, no trailing `/`, no empty, `.` or `..` components,
/// no control characters (ZooKeeper's own rules), and not `/` itself.
pub(super) fn znode_path(s: &str) -> Result<(), String> {
    if !s.starts_with('/') {
        return Err(format!("{s:?} is not an absolute znode path (it must start with '/')"));
    }
    if s == "/" {
        return Err("\"/\" is not allowed: give a dedicated znode, e.g. /rmfc".into());
    }
    if s.ends_with('/') {
        return Err(format!("{s:?} must not end with '/'"));
    }
    for part in s[1..].split('/') {
        if part.is_empty() {
            return Err(format!("{s:?} contains an empty component (\"//\")"));
        }
        if part == "." || part == ".." {
            return Err(format!("{s:?} contains {part:?}, which ZooKeeper refuses"));
        }
        if part.chars().any(char::is_control) {
            return Err(format!("{s:?} contains a control character"));
        }
    }
    Ok(())
}

/// `host:port[,host:port...][/chroot]`; returns it with whitespace around entries removed.
pub(super) fn zk_connect(s: &str) -> Result<String, String> {
    let (hosts, chroot) = match s.find('/') {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let mut out = Vec::new();
    for entry in hosts.split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            return Err(format!("{s:?}: empty server entry (stray ',')"));
        }
        host_port(entry).map_err(|why| format!("server {why}"))?;
        out.push(entry);
    }
    let mut normalized = out.join(",");
    if let Some(chroot) = chroot {
        let chroot = chroot.trim();
        znode_path(chroot).map_err(|why| format!("chroot {why}"))?;
        normalized.push_str(chroot);
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(duration(" 2m "), Ok(Duration::from_secs(120)));
        for bad in ["1", "ten seconds", "", "-1s", "1 sek"] {
            let e = duration(bad).unwrap_err();
            assert!(e.starts_with(&format!("invalid duration {bad:?}: ")), "{e}");
        }
    }

    #[test]
    fn ids() {
        for ok in ["rm1", "yarn-prod", "a.b_c-9"] {
            assert_eq!(id(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [("", "empty"), ("rm 1", "' '"), ("a/b", "'/'"), ("..", "ZooKeeper"), ("é", "'é'")] {
            let e = id(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn host_ports() {
        assert_eq!(host_port("rm1.example.com:8033"), Ok(("rm1.example.com".into(), 8033)));
        assert_eq!(host_port("10.0.0.1:1"), Ok(("10.0.0.1".into(), 1)));
        assert_eq!(host_port("[::1]:8033"), Ok(("::1".into(), 8033)));
        let cases = [
            ("rm2:80x", "port must be a number 1-65535"),
            ("rm2:0", "port must be a number 1-65535"),
            ("rm2:70000", "port must be a number 1-65535"),
            ("rm2:+80", "port must be a number 1-65535"),
            ("rm2", "the port is missing"),
            (":8033", "the host is missing"),
            ("::1:8033", "brackets"),
            ("[::1:8033", "missing ']'"),
            ("[zz]:8033", "not an IPv6"),
            ("http://rm1:8033", "no scheme"),
            ("rm 1:8033", "cannot appear"),
            ("rm1..x:8033", "empty label"),
        ];
        for (s, why) in cases {
            let e = host_port(s).unwrap_err();
            assert!(e.starts_with(&format!("{s:?} is not HOST:PORT (")) && e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(http_url("http://rm1:8088", false).as_deref(), Ok("http://rm1:8088"));
        assert_eq!(http_url("https://rm1/", false).as_deref(), Ok("https://rm1"));
        assert_eq!(http_url("http://proxy:80/rm1/", false).as_deref(), Ok("http://proxy:80/rm1"));
        assert_eq!(http_url("https://u:p@pdu/api/off", true).as_deref(), Ok("https://u:p@pdu/api/off"));
        assert_eq!(http_url("http://[::1]:8088", false).as_deref(), Ok("http://[::1]:8088"));
        for (s, why) in [
            ("rm1:8088", "http:// or https://"),
            ("ftp://rm1", "http or https"),
            ("http://rm1:8088/?a=1", "no query"),
            ("http://u:p@rm1:8088", "no user"),
            ("http://:8088", "the host is missing"),
            ("http://rm1:x", "port must be"),
        ] {
            let e = http_url(s, false).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn znode_paths() {
        assert_eq!(znode_path("/rmfc"), Ok(()));
        assert_eq!(znode_path("/a/b.c"), Ok(()));
        for (s, why) in
            [("rmfc", "absolute"), ("/", "dedicated"), ("/a/", "end with"), ("/a//b", "empty"), ("/a/..", "refuses")]
        {
            let e = znode_path(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn zk_connect_strings() {
        assert_eq!(zk_connect("zk1:2181,zk2:2181").as_deref(), Ok("zk1:2181,zk2:2181"));
        assert_eq!(zk_connect("zk1:2181, zk2:2181/hadoop").as_deref(), Ok("zk1:2181,zk2:2181/hadoop"));
        assert_eq!(zk_connect("127.0.0.1:2181").as_deref(), Ok("127.0.0.1:2181"));
        for (s, why) in [
            ("zk1", "the port is missing"),
            ("zk1:2181,,zk2:2181", "stray ','"),
            ("zk1:2181/", "chroot"),
            ("zk1:21x81", "port must be"),
            ("", "empty server"),
        ] {
            let e = zk_connect(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }
}
