//! HTTPS for the admin API (`admin.tls_cert_file` + `admin.tls_key_file`, PEM): the TLS server
//! configuration, loaded once at start-up with errors naming the key, and the accept loop that
//! runs the same router over TLS (axum's `serve` speaks plain TCP only).
//!
//! Owns: certificates, keys and TLS handshakes. Must not: let one client stall the others (each
//! connection is its own task, the handshake has a deadline) or stop serving because one
//! handshake failed.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::AdminTls;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server configuration for `tls`; `Err` names the config key and what is wrong.
pub fn server_config(tls: &AdminTls) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs = read_certs(&tls.cert_file).map_err(|e| format!("admin.tls_cert_file: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_file)
        .map_err(|e| format!("admin.tls_key_file: {}: no usable PEM private key ({e})", tls.key_file.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("admin TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("admin.tls_key_file: does not fit admin.tls_cert_file: {e}"))?;
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

/// Serves `app` over TLS on `listener` until the task is aborted (a failed accept or handshake
/// ends that connection only).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    config: Arc<rustls::ServerConfig>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(config);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            // Out of file descriptors and the like: pause instead of spinning.
            Err(e) => {
                tracing::warn!(error = %e, "admin API: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "admin API: TLS handshake failed"),
                Err(_) => return tracing::debug!(%peer, "admin API: TLS handshake timed out"),
            };
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                app.clone().oneshot(req)
            });
            let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            if let Err(e) = conn.serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%peer, error = %e, "admin API: connection ended with an error");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_files_name_the_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").expect("write");
        let tls = AdminTls { cert_file: dir.path().join("nope.pem"), key_file: empty.clone() };
        let e = server_config(&tls).unwrap_err();
        assert!(e.starts_with("admin.tls_cert_file: ") && e.contains("nope.pem"), "{e}");
        let tls = AdminTls { cert_file: empty.clone(), key_file: empty };
        let e = server_config(&tls).unwrap_err();
        assert!(e.contains("no PEM certificate"), "{e}");
    }
}
