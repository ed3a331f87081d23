//! The `http` fencing method: POST a JSON description of the target to an operator's endpoint
//! (a power switch, a cloud API gateway, a node-manager kill service); a 2xx answer means fenced.
//!
//! Owns: the request and its deadline. Must not: follow redirects (a fencing request must reach
//! the endpoint the operator named, and a 3xx is not a confirmation) or retry.

use std::time::Duration;

use crate::rm::{describe_error, excerpt, read_capped, RmEndpointCfg};

/// How much of a failed answer's body is read.
const BODY_MAX: usize = 16 * 1024;

pub(super) fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("rmfc/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// `{"cluster_id", "target", "admin_address", "epoch"}`.
pub(super) fn body(cluster_id: &str, target: &str, ep: &RmEndpointCfg, epoch: u64) -> serde_json::Value {
    serde_json::json!({
        "cluster_id": cluster_id,
        "target": target,
        "admin_address": ep.admin_address,
        "epoch": epoch,
    })
}

/// POSTs `body` to `url` within `timeout`.
pub(super) async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<(), String> {
    let request = async {
        let mut resp = client
            .post(url)
            .json(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {}", describe_error(&e)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = excerpt(&read_capped(&mut resp, BODY_MAX).await.unwrap_or_default());
        Err(if text.is_empty() {
            format!("POST {url}: HTTP {status}")
        } else {
            format!("POST {url}: HTTP {status}: {text}")
        })
    };
    match tokio::time::timeout(timeout, request).await {
        Ok(r) => r,
        Err(_) => Err(format!("POST {url}: no answer within {}", humantime::format_duration(timeout))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_cluster_target_address_and_epoch() {
        let ep = RmEndpointCfg { admin_address: "rm1:8033".into(), web_address: "http://rm1:8088".into() };
        assert_eq!(
            body("c1", "rm1", &ep, 4),
            serde_json::json!({"cluster_id": "c1", "target": "rm1", "admin_address": "rm1:8033", "epoch": 4})
        );
    }
}
