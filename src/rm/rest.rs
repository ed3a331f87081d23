//! The RM's REST side as a probe sees it: `GET <web>/ws/v1/cluster/info` and its
//! `clusterInfo.haState`. A standby answers that path itself (it is exempt from
//! `RMWebAppFilter`'s redirect), so any redirect is a failure, never something to follow.
//!
//! Owns: the HTTP client's settings (no redirects, no proxy) and reading the answer within the
//! probe's deadline. Must not: decide what a disagreement with IPC means (the caller trusts IPC).

use tokio::time::Instant;

/// Larger answers are cut (a cluster info document is about 1 KiB).
const MAX_BODY: usize = 256 * 1024;

/// The client every REST probe shares. Never follows redirects; ignores `*_PROXY` variables
/// (an RM is probed directly from the host beside it, a proxy would only add a failure point).
pub(super) fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("rmfc/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// `<web>/ws/v1/cluster/info`; a web address without a scheme means `http://`.
pub(super) fn cluster_info_url(web_address: &str) -> String {
    let base = web_address.trim_end_matches('/');
    if base.starts_with("http://") || base.starts_with("https://") {
        format!("{base}/ws/v1/cluster/info")
    } else {
        format!("http://{base}/ws/v1/cluster/info")
    }
}

/// `clusterInfo.haState` out of a cluster info document.
pub(super) fn parse_ha_state(body: &[u8]) -> Result<String, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON ({e}): {}", excerpt(body)))?;
    match doc.pointer("/clusterInfo/haState") {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!("clusterInfo.haState is not a string: {other}")),
        None => Err(format!("no clusterInfo.haState in {}", excerpt(body))),
    }
}

/// `GET url` before `deadline`; the RM's `haState` or why not.
pub(super) async fn ha_state(http: &reqwest::Client, url: &str, deadline: Instant) -> Result<String, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    let request = async {
        let mut resp = http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(left)
            .send()
            .await
            .map_err(|e| describe_error(&e))?;
        let status = resp.status();
        if status.is_redirection() {
            let to = resp.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("nowhere");
            return Err(format!("HTTP {status}, redirected to {to} (not followed: an RM serves this path itself)"));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            // SPNEGO (hadoop.http.authentication.type=kerberos): rmfc's REST probe cannot log in.
            return Err(format!(
                "HTTP {status}: the RM's web UI requires authentication (SPNEGO), which rmfc's REST probe does not \
                 do; set health.rest: false"
            ));
        }
        let body = read_capped(&mut resp, MAX_BODY).await?;
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", excerpt(&body)));
        }
        parse_ha_state(&body)
    };
    match tokio::time::timeout_at(deadline, request).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {left:?}")),
    }
}

/// The body, cut at `cap` bytes.
pub(crate) async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("reading the body: {}", describe_error(&e)))? {
        let room = cap.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= cap {
            break;
        }
    }
    Ok(body)
}

/// The first line-ish of a body, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// An error and its causes on one line (reqwest's own message alone says only "error sending
/// request").
pub(crate) fn describe_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_gets_a_scheme_and_no_double_slash() {
        assert_eq!(cluster_info_url("http://rm1:8088"), "http://rm1:8088/ws/v1/cluster/info");
        assert_eq!(cluster_info_url("https://rm1:8090/"), "https://rm1:8090/ws/v1/cluster/info");
        assert_eq!(cluster_info_url("127.0.0.1:8088"), "http://127.0.0.1:8088/ws/v1/cluster/info");
    }

    #[test]
    fn ha_state_is_read_from_cluster_info() {
        let body = br#"{"clusterInfo":{"id":1,"state":"STARTED","haState":"STANDBY"}}"#;
        assert_eq!(parse_ha_state(body), Ok("STANDBY".to_string()));
        assert!(parse_ha_state(b"<html>redirect</html>").unwrap_err().contains("not JSON"));
        assert!(parse_ha_state(br#"{"clusterInfo":{}}"#).unwrap_err().contains("no clusterInfo.haState"));
        assert!(parse_ha_state(br#"{"clusterInfo":{"haState":3}}"#).unwrap_err().contains("not a string"));
    }

    #[test]
    fn excerpts_are_bounded() {
        let long = "x".repeat(1000);
        let e = excerpt(long.as_bytes());
        assert!(e.chars().count() <= 301 && e.ends_with('…'));
        assert_eq!(excerpt(b"  short \n"), "short");
    }

    #[test]
    fn error_chains_are_flattened_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("error sending request")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        assert_eq!(describe_error(&Outer(refused)), "error sending request: connection refused");
        let same = std::io::Error::other("error sending request");
        assert_eq!(describe_error(&Outer(same)), "error sending request", "a cause already said is not repeated");
    }
}
