//! The client's handling of the Kerberos phase of a connection against scripted servers on
//! loopback (no KDC: the Kerberos side is a stand-in [`GssLogin`]). That the real exchange works
//! is proven against Hadoop's own secure server in `tests/hadoop_kerberos.rs`.

use super::*;
use crate::hadoop_ipc::proto::{EmptyProto, SaslAuth, SaslState};
use crate::hadoop_ipc::sasl::GssContext;
use crate::hadoop_ipc::wire::AUTHORIZATION_FAILED_CALL_ID;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

#[test]
fn host_is_the_address_without_its_port() {
    assert_eq!(host_of("rm1.example.com:8033"), "rm1.example.com");
    assert_eq!(host_of("[::1]:8033"), "::1");
    assert_eq!(host_of("localhost"), "localhost");
}

/// A login whose contexts never get past their first step (no test here needs one that does).
struct UnusedLogin;

impl GssLogin for UnusedLogin {
    fn start(&self, _target: &str) -> Result<Box<dyn GssContext>, String> {
        Err("no Kerberos in this test".into())
    }
    fn describe(&self) -> String {
        "rmfc/localhost@RMFC.TEST (test)".into()
    }
}

fn kerberos_client(addr: std::net::SocketAddr, login: Arc<dyn GssLogin>) -> IpcClient {
    let mut cfg = ClientConfig::new("org.apache.hadoop.ha.HAServiceProtocol");
    cfg.auth = ClientAuth::Kerberos(KerberosAuth {
        server_principal: "rm/_HOST@RMFC.TEST".into(),
        accept: vec![Qop::Privacy],
        login,
    });
    IpcClient::new(format!("localhost:{}", addr.port()), cfg)
}

fn status_call() -> Method<'static> {
    Method { protocol: "org.apache.hadoop.ha.HAServiceProtocol", protocol_version: 1, name: "getServiceStatus" }
}

/// A server that accepts, reads the preamble and the client's NEGOTIATE, answers with the
/// frames of `answer` (nothing when empty) and then holds the connection open until the
/// client closes it.
async fn sasl_server(answer: Vec<u8>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let Ok((mut s, _)) = listener.accept().await else { return };
        let mut preamble = [0u8; 7];
        if s.read_exact(&mut preamble).await.is_err() || read_frame(&mut s, DEFAULT_MAX_FRAME).await.is_err() {
            return;
        }
        if !answer.is_empty() && s.write_all(&answer).await.is_err() {
            return;
        }
        let mut sink = [0u8; 512];
        while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
    });
    addr
}

#[tokio::test]
async fn a_timeout_in_the_kerberos_exchange_is_an_authentication_timeout() {
    let addr = sasl_server(Vec::new()).await;
    let mut client = kerberos_client(addr, Arc::new(UnusedLogin));
    let e = client
        .call::<EmptyProto>(status_call(), &EmptyProto {}, Duration::from_millis(300))
        .await
        .expect_err("the server never answers NEGOTIATE");
    assert!(matches!(e, IpcError::AuthTimeout { .. }), "{e:?}");
    assert!(e.to_string().contains("timed out authenticating (KDC or RM)"), "{e}");
}

/// A login whose `start` blocks its thread, as MIT's library does while it waits for a KDC,
/// until the test ends (the sender is dropped) or 10 s pass.
struct HungKdc(std::sync::Mutex<std::sync::mpsc::Receiver<()>>);

impl GssLogin for HungKdc {
    fn start(&self, _target: &str) -> Result<Box<dyn GssContext>, String> {
        let gate = self.0.lock().map_err(|_| "poisoned".to_string())?;
        let _ = gate.recv_timeout(Duration::from_secs(10));
        Err("the KDC did not answer".into())
    }
    fn describe(&self) -> String {
        "rmfc/localhost@RMFC.TEST (test)".into()
    }
}

fn kerberos_negotiate() -> Vec<u8> {
    let offer = RpcSaslProto {
        version: None,
        state: SaslState::Negotiate as i32,
        token: None,
        auths: vec![SaslAuth {
            method: "KERBEROS".into(),
            mechanism: "GSSAPI".into(),
            protocol: Some("rm".into()),
            server_id: Some("localhost".into()),
            challenge: None,
        }],
    };
    wire::success_frame(SASL_CALL_ID, &[], -1, &offer)
}

// One worker thread: were the Kerberos step run on it, no timer could fire until the step ended.
#[tokio::test(flavor = "current_thread")]
async fn a_hung_kdc_is_an_authentication_timeout_on_time_and_blocks_no_worker() {
    let addr = sasl_server(kerberos_negotiate()).await;
    let (_release, gate) = std::sync::mpsc::channel();
    let mut client = kerberos_client(addr, Arc::new(HungKdc(std::sync::Mutex::new(gate))));
    let started = std::time::Instant::now();
    let e = client
        .call::<EmptyProto>(status_call(), &EmptyProto {}, Duration::from_millis(300))
        .await
        .expect_err("the KDC never answers");
    assert!(matches!(e, IpcError::AuthTimeout { after, .. } if after == Duration::from_millis(300)), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "the deadline held: {:?}", started.elapsed());
}

/// Kerberos stand-in with the tokens of `sasl_tests.rs`: the first step sends `c1`, the next
/// completes the context; wrapping prefixes `I` (integrity) or `P` (privacy).
struct FakeCtx {
    complete: bool,
}

impl GssContext for FakeCtx {
    fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>, String> {
        self.complete = input.is_some();
        Ok(input.is_none().then(|| b"c1".to_vec()))
    }
    fn is_complete(&self) -> bool {
        self.complete
    }
    fn wrap(&mut self, encrypt: bool, data: &[u8]) -> Result<Vec<u8>, String> {
        Ok([&[if encrypt { b'P' } else { b'I' }][..], data].concat())
    }
    fn unwrap(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
        match data.split_first() {
            Some((b'P' | b'I', rest)) => Ok(rest.to_vec()),
            _ => Err("bad wrap token".into()),
        }
    }
}

struct FakeLogin;

impl GssLogin for FakeLogin {
    fn start(&self, _target: &str) -> Result<Box<dyn GssContext>, String> {
        Ok(Box::new(FakeCtx { complete: false }))
    }
    fn describe(&self) -> String {
        "rmfc/localhost@RMFC.TEST (fake)".into()
    }
}

fn sasl_answer(state: SaslState, token: Option<&[u8]>, auths: Vec<SaslAuth>) -> Vec<u8> {
    let msg = RpcSaslProto { version: None, state: state as i32, token: token.map(<[u8]>::to_vec), auths };
    wire::success_frame(SASL_CALL_ID, &[], -1, &msg)
}

/// `frame` (length prefix included) with `tail` appended inside it.
fn with_tail(mut frame: Vec<u8>, tail: &[u8]) -> Vec<u8> {
    frame.extend_from_slice(tail);
    let len = (frame.len() - 4) as u32;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    frame
}

/// `plain` (whole frames) in one WRAP frame, privacy-wrapped the way [`FakeCtx`] unwraps.
fn wrapped(plain: &[u8]) -> Vec<u8> {
    sasl_answer(SaslState::Wrap, Some(&[&b"P"[..], plain].concat()), vec![])
}

/// The server's side of the exchange with [`FakeLogin`], agreeing on privacy: its SUCCESS frame
/// carries `success_tail` after the message; then it reads the client's first frame and sends
/// `answer`, and holds the connection until the client closes it.
async fn secure_server(success_tail: Vec<u8>, answer: Vec<u8>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let Ok((mut s, _)) = listener.accept().await else { return };
        let mut preamble = [0u8; 7];
        if s.read_exact(&mut preamble).await.is_err() {
            return;
        }
        let script = [
            kerberos_negotiate(),
            sasl_answer(SaslState::Challenge, Some(b"ap-rep"), vec![]),
            // The security-layer offer: privacy only, a 64 KiB buffer.
            sasl_answer(SaslState::Challenge, Some(&[b'I', 4, 1, 0, 0]), vec![]),
            with_tail(sasl_answer(SaslState::Success, None, vec![]), &success_tail),
            answer,
        ];
        for frame in script {
            // Each step answers one frame of the client's.
            if !matches!(read_frame(&mut s, DEFAULT_MAX_FRAME).await, Ok(Some(_))) || s.write_all(&frame).await.is_err()
            {
                return;
            }
        }
        let mut sink = [0u8; 512];
        while matches!(s.read(&mut sink).await, Ok(n) if n > 0) {}
    });
    addr
}

async fn first_call(addr: std::net::SocketAddr) -> Result<EmptyProto, IpcError> {
    let mut client = kerberos_client(addr, Arc::new(FakeLogin));
    client.call::<EmptyProto>(status_call(), &EmptyProto {}, Duration::from_secs(10)).await
}

fn protocol_reason(r: Result<EmptyProto, IpcError>) -> String {
    match r {
        Err(IpcError::Protocol { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_wrapped_answer_is_taken() {
    let answer = wrapped(&wire::success_frame(0, &[], 0, &EmptyProto {}));
    first_call(secure_server(Vec::new(), answer).await).await.expect("the scripted exchange works");
}

#[tokio::test]
async fn an_unwrapped_fatal_under_privacy_is_refused_not_believed() {
    let forged = RemoteException::new("org.apache.hadoop.security.AccessControlException", "forged")
        .with_detail(crate::hadoop_ipc::proto::RpcErrorCode::FatalUnauthorized);
    let answer = wire::error_frame(AUTHORIZATION_FAILED_CALL_ID, &[], -1, &forged);
    let reason = protocol_reason(first_call(secure_server(Vec::new(), answer).await).await);
    assert!(reason.contains("Server sent non-wrapped response (FATAL answer for call -1 in the clear)"), "{reason}");
}

#[tokio::test]
async fn bytes_beyond_the_answer_are_refused() {
    let answer = wrapped(&[wire::success_frame(0, &[], 0, &EmptyProto {}), vec![0, 0, 0, 1, 9]].concat());
    let reason = protocol_reason(first_call(secure_server(Vec::new(), answer).await).await);
    assert!(reason.contains("5 bytes beyond the answer"), "{reason}");
}

#[tokio::test]
async fn bytes_after_the_success_message_are_refused() {
    let answer = wrapped(&wire::success_frame(0, &[], 0, &EmptyProto {}));
    let reason = protocol_reason(first_call(secure_server(vec![1, 2], answer).await).await);
    assert!(reason.contains("2 bytes after the SASL message"), "{reason}");
}
