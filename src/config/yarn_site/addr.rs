//! Addresses as Hadoop and rmfc write them: `HOST[:PORT]` (IPv6 in brackets), `http(s)://` URLs
//! and ZooKeeper connect strings, normalised so that two spellings of one address compare equal
//! (case, a trailing dot, default ports, the order of servers).
//!
//! Owns: parsing and printing them. Must not: resolve names.

use std::collections::BTreeSet;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Addr {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) https: bool,
}

impl Addr {
    /// `HOST[:PORT]` or `[V6][:PORT]`; a missing port means `default_port` (0: required).
    pub(super) fn parse_host_port(s: &str, default_port: u16) -> Option<Addr> {
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
    pub(super) fn parse_url(s: &str) -> Option<(Addr, String)> {
        let (https, rest) =
            if let Some(r) = s.strip_prefix("https://") { (true, r) } else { (false, s.strip_prefix("http://")?) };
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let mut a = Addr::parse_host_port(authority, if https { 443 } else { 80 })?;
        a.https = https;
        Some((a, path.trim_end_matches('/').to_string()))
    }

    pub(super) fn bracketed_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    pub(super) fn host_port(&self) -> String {
        format!("{}:{}", self.bracketed_host(), self.port)
    }

    pub(super) fn url(&self) -> String {
        format!("{}://{}:{}", if self.https { "https" } else { "http" }, self.bracketed_host(), self.port)
    }

    pub(super) fn is_ip(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }

    pub(super) fn is_wildcard(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified())
    }
}

/// A ZooKeeper connect string: the set of servers (default port 2181) and the chroot ("" if none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ZkConnect {
    pub(super) servers: BTreeSet<String>,
    pub(super) chroot: String,
}

impl ZkConnect {
    pub(super) fn parse(s: &str) -> Option<ZkConnect> {
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

    #[test]
    pub(super) fn addresses_and_connect_strings_parse() {
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
