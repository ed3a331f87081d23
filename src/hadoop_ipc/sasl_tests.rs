//! The SASL GSSAPI exchange against a scripted server and a fake Kerberos (tokens are plain
//! bytes, wrapping is a visible prefix), so every branch of the state machine is a table row.
//! That the real thing interoperates is proven against Hadoop's own secure RPC server and a real
//! MIT KDC in `tests/hadoop_kerberos.rs`.

use super::*;
use crate::hadoop_ipc::frame::encode_frame;

/// Every `wrap` call: (encrypt, plaintext).
type WrapLog = std::sync::Arc<std::sync::Mutex<Vec<(bool, Vec<u8>)>>>;

/// Fake context: `step(None)` gives `c1`; `step(Some(_))` completes. Wrap prefixes `I` or `P`.
struct FakeCtx {
    complete: bool,
    wrapped: WrapLog,
}

impl GssContext for FakeCtx {
    fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>, String> {
        match input {
            None => Ok(Some(b"c1".to_vec())),
            Some(b"bad") => Err("Server not found in Kerberos database".into()),
            Some(_) => {
                self.complete = true;
                Ok(None)
            }
        }
    }
    fn is_complete(&self) -> bool {
        self.complete
    }
    fn wrap(&mut self, encrypt: bool, data: &[u8]) -> Result<Vec<u8>, String> {
        self.wrapped.lock().unwrap().push((encrypt, data.to_vec()));
        let mut out = vec![if encrypt { b'P' } else { b'I' }];
        out.extend_from_slice(data);
        Ok(out)
    }
    fn unwrap(&mut self, data: &[u8]) -> Result<Vec<u8>, String> {
        match data.split_first() {
            Some((b'P' | b'I', rest)) => Ok(rest.to_vec()),
            _ => Err("bad wrap token".into()),
        }
    }
}

#[derive(Default)]
struct FakeLogin {
    wrapped: WrapLog,
    targets: std::sync::Mutex<Vec<String>>,
}

impl GssLogin for FakeLogin {
    fn start(&self, target: &str) -> Result<Box<dyn GssContext>, String> {
        self.targets.lock().unwrap().push(target.to_string());
        Ok(Box::new(FakeCtx { complete: false, wrapped: self.wrapped.clone() }))
    }
    fn describe(&self) -> String {
        "rmfc/localhost@RMFC.TEST (fake)".into()
    }
}

fn kerberos_auth(protocol: &str, host: &str) -> SaslAuth {
    SaslAuth {
        method: "KERBEROS".into(),
        mechanism: "GSSAPI".into(),
        protocol: Some(protocol.into()),
        server_id: Some(host.into()),
        challenge: None,
    }
}

fn msg(state: SaslState, token: Option<&[u8]>, auths: Vec<SaslAuth>) -> RpcSaslProto {
    RpcSaslProto { version: None, state: state as i32, token: token.map(<[u8]>::to_vec), auths }
}

fn offer(mask: u8, max: u32) -> Vec<u8> {
    let mut o = vec![b'I', mask];
    o.extend_from_slice(&max.to_be_bytes()[1..]);
    o
}

fn sent(step: SaslStep) -> RpcSaslProto {
    match step {
        SaslStep::Send(m) => m,
        SaslStep::Established(_) => panic!("expected a message to send"),
    }
}

/// Runs the exchange to SUCCESS with the server offering `mask`; returns the established layer
/// and the choice we sent (unwrapped).
fn run(accept: &[Qop], mask: u8, login: &FakeLogin) -> Result<(Established, Vec<u8>), SaslError> {
    run_with_buffer(accept, mask, 65536, login)
}

/// As [`run`], the server announcing a receive buffer of `server_max` bytes.
fn run_with_buffer(
    accept: &[Qop],
    mask: u8,
    server_max: u32,
    login: &FakeLogin,
) -> Result<(Established, Vec<u8>), SaslError> {
    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", accept, SettingNames::ConfigKeys);
    let init = sent(c.on_message(msg(SaslState::Negotiate, None, vec![kerberos_auth("rm", "localhost")]), login)?);
    assert_eq!(init.state, SaslState::Initiate as i32);
    assert_eq!(init.token.as_deref(), Some(&b"c1"[..]));
    assert_eq!(init.auths, vec![kerberos_auth("rm", "localhost")], "the server's entry, challenge cleared");
    let resp = sent(c.on_message(msg(SaslState::Challenge, Some(b"ap-rep"), vec![]), login)?);
    assert_eq!(resp.token.as_deref(), Some(&b""[..]), "an empty answer once the context is complete");
    let choice = sent(c.on_message(msg(SaslState::Challenge, Some(&offer(mask, server_max)), vec![]), login)?);
    let token = choice.token.expect("the choice is a token");
    assert_eq!(token[0], b'I', "the choice is integrity-wrapped, never encrypted");
    match c.on_message(msg(SaslState::Success, None, vec![]), login)? {
        SaslStep::Established(e) => Ok((e, token[1..].to_vec())),
        SaslStep::Send(_) => panic!("nothing may follow SUCCESS"),
    }
}

#[test]
fn the_first_accepted_protection_the_server_offers_is_chosen() {
    let all = 1 | 2 | 4;
    let cases: &[(&[Qop], u8, Qop, [u8; 4])] = &[
        (&[Qop::Authentication], all, Qop::Authentication, [1, 0, 0, 0]),
        (&[Qop::Privacy, Qop::Integrity], all, Qop::Privacy, [4, 1, 0, 0]),
        (&[Qop::Privacy, Qop::Integrity], 1 | 2, Qop::Integrity, [2, 1, 0, 0]),
        (&[Qop::Authentication, Qop::Privacy], 4, Qop::Privacy, [4, 1, 0, 0]),
    ];
    for (accept, mask, want, choice) in cases {
        let login = FakeLogin::default();
        let (est, sent_choice) = run(accept, *mask, &login).expect("exchange succeeds");
        assert_eq!(est.qop, *want, "accept {accept:?}, offer {mask:#b}");
        assert_eq!(sent_choice, choice, "bit, then our buffer size (0 without a layer)");
        assert_eq!(est.wraps(), *want != Qop::Authentication);
        assert_eq!(*login.targets.lock().unwrap(), vec!["rm/localhost@RMFC.TEST".to_string()]);
    }
}

#[test]
fn refusals_name_what_the_server_offered() {
    let login = FakeLogin::default();
    let no_common = run(&[Qop::Privacy], 1, &login).expect_err("must fail");
    assert_eq!(
        no_common,
        SaslError::NoCommonProtection {
            offered: "authentication".into(),
            accepted: "privacy".into(),
            names: SettingNames::ConfigKeys
        }
    );
    assert!(no_common.to_string().contains("security.rpc_protection"));

    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", &[Qop::Authentication], SettingNames::ConfigKeys);
    let simple = c.on_message(msg(SaslState::Success, None, vec![]), &login).expect_err("must fail");
    assert_eq!(simple, SaslError::ServerIsSimple(SettingNames::ConfigKeys), "no silent fall back to SIMPLE");

    let token_only = SaslAuth {
        method: "TOKEN".into(),
        mechanism: "DIGEST-MD5".into(),
        protocol: Some(String::new()),
        server_id: Some("default".into()),
        challenge: Some(b"nonce".to_vec()),
    };
    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", &[Qop::Authentication], SettingNames::ConfigKeys);
    let e = c.on_message(msg(SaslState::Negotiate, None, vec![token_only]), &login).expect_err("must fail");
    assert_eq!(e, SaslError::NoKerberos { offered: "TOKEN (DIGEST-MD5)".into() });

    let login = FakeLogin::default();
    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", &[Qop::Authentication], SettingNames::ConfigKeys);
    let e = c
        .on_message(msg(SaslState::Negotiate, None, vec![kerberos_auth("rm", "rm2.example.com")]), &login)
        .expect_err("must fail");
    assert_eq!(
        e,
        SaslError::WrongServerPrincipal {
            advertised: "rm/rm2.example.com".into(),
            expected: "rm/localhost@RMFC.TEST".into(),
            names: SettingNames::ConfigKeys
        }
    );
    assert!(login.targets.lock().unwrap().is_empty(), "no Kerberos context towards a server we do not trust");
}

#[test]
fn refusals_name_rm_admins_flags_when_the_settings_came_from_them() {
    let login = FakeLogin::default();
    let flags = SettingNames::RmAdminFlags;
    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", &[Qop::Privacy], flags);
    let simple = c.on_message(msg(SaslState::Success, None, vec![]), &login).expect_err("must fail").to_string();
    assert!(simple.contains("leave out --rm-principal"), "{simple}");

    let mut c = SaslClient::new("yarn/localhost@RMFC.TEST", &[Qop::Privacy], flags);
    let negotiate = msg(SaslState::Negotiate, None, vec![kerberos_auth("rm", "localhost")]);
    let principal = c.on_message(negotiate.clone(), &login).expect_err("must fail").to_string();
    assert!(principal.contains("(--rm-principal, _HOST replaced"), "{principal}");

    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", &[Qop::Privacy], flags);
    c.on_message(negotiate, &login).expect("initiate");
    c.on_message(msg(SaslState::Challenge, Some(b"ap-rep"), vec![]), &login).expect("response");
    let protection =
        c.on_message(msg(SaslState::Challenge, Some(&offer(1, 0)), vec![]), &login).expect_err("must fail").to_string();
    assert!(protection.contains("rmfc accepts privacy (--rpc-protection): none in common"), "{protection}");

    for text in [simple, principal, protection] {
        for key in ["security.rm_principal", "security.rpc_protection", "security.authentication:"] {
            assert!(!text.contains(key), "no config keys for a command-line user: {text}");
        }
    }
}

#[test]
fn a_failed_wrap_is_not_called_an_authentication_failure() {
    struct NoWrap;
    impl GssContext for NoWrap {
        fn step(&mut self, _: Option<&[u8]>) -> Result<Option<Vec<u8>>, String> {
            Ok(None)
        }
        fn is_complete(&self) -> bool {
            true
        }
        fn wrap(&mut self, _: bool, _: &[u8]) -> Result<Vec<u8>, String> {
            Err("The referenced context has expired".into())
        }
        fn unwrap(&mut self, _: &[u8]) -> Result<Vec<u8>, String> {
            Err("Message was replayed".into())
        }
    }
    let est = Established { gss: Box::new(NoWrap), qop: Qop::Privacy, chunk: wrap_chunk(65536, Qop::Privacy).ok() };
    let mut ch = SecureChannel::new(est);
    let e = ch.seal(&[0, 0, 0, 1, 5]).expect_err("must fail");
    assert_eq!(e.to_string(), "could not protect the message (GSSAPI wrap): The referenced context has expired");
    let e = ch.receive(wrap_unit(&[0, 0, 0, 1, 5], b'P')).expect_err("must fail");
    assert_eq!(e.to_string(), "could not verify the server's message (GSSAPI unwrap): Message was replayed");
}

#[test]
fn out_of_order_server_messages_are_protocol_errors() {
    let login = FakeLogin::default();
    let negotiate = || msg(SaslState::Negotiate, None, vec![kerberos_auth("rm", "localhost")]);

    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", &[Qop::Authentication], SettingNames::ConfigKeys);
    c.on_message(negotiate(), &login).expect("initiate");
    let early = c.on_message(msg(SaslState::Success, None, vec![]), &login).expect_err("must fail");
    assert!(matches!(early, SaslError::Protocol(ref m) if m.contains("before the Kerberos context")), "{early}");

    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", &[Qop::Authentication], SettingNames::ConfigKeys);
    c.on_message(negotiate(), &login).expect("initiate");
    let no_token = c.on_message(msg(SaslState::Challenge, None, vec![]), &login).expect_err("must fail");
    assert!(matches!(no_token, SaslError::Protocol(ref m) if m.contains("no token")));

    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", &[Qop::Authentication], SettingNames::ConfigKeys);
    c.on_message(negotiate(), &login).expect("initiate");
    let gss = c.on_message(msg(SaslState::Challenge, Some(b"bad"), vec![]), &login).expect_err("must fail");
    assert_eq!(gss, SaslError::Gss("Server not found in Kerberos database".into()));

    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", &[Qop::Authentication], SettingNames::ConfigKeys);
    let wrap_first = c.on_message(msg(SaslState::Wrap, Some(b"x"), vec![]), &login).expect_err("must fail");
    assert!(matches!(wrap_first, SaslError::Protocol(_)));

    let mut c = SaslClient::new("rm/localhost@RMFC.TEST", &[Qop::Authentication], SettingNames::ConfigKeys);
    c.on_message(negotiate(), &login).expect("initiate");
    c.on_message(msg(SaslState::Challenge, Some(b"ap-rep"), vec![]), &login).expect("response");
    let short = c.on_message(msg(SaslState::Challenge, Some(b"I\x01"), vec![]), &login).expect_err("must fail");
    assert!(matches!(short, SaslError::Protocol(ref m) if m.contains("offer of 1 bytes")), "{short}");
}

fn channel(accept: Qop, mask: u8) -> (SecureChannel, FakeLogin) {
    let login = FakeLogin::default();
    let (est, _) = run(&[accept], mask, &login).expect("exchange succeeds");
    (SecureChannel::new(est), login)
}

fn wrap_unit(plain: &[u8], kind: u8) -> Vec<u8> {
    let mut token = vec![kind];
    token.extend_from_slice(plain);
    let header = RpcResponseHeaderProto {
        call_id: SASL_CALL_ID as u32,
        status: RpcStatus::Success as i32,
        ..Default::default()
    };
    let framed = encode_frame(&[&header, &msg(SaslState::Wrap, Some(&token), vec![])]);
    framed[4..].to_vec()
}

#[test]
fn privacy_encrypts_and_integrity_signs_every_byte_sent() {
    for (qop, encrypt) in [(Qop::Privacy, true), (Qop::Integrity, false)] {
        let (mut ch, login) = channel(qop, 1 | 2 | 4);
        login.wrapped.lock().unwrap().clear();
        let frames = [0u8, 0, 0, 3, 7, 8, 9];
        let out = ch.seal(&frames).expect("seal");
        let wrapped = login.wrapped.lock().unwrap().clone();
        assert_eq!(wrapped, vec![(encrypt, frames.to_vec())], "{qop}");
        // What goes out is one SASL frame (call id -33) carrying RpcSaslProto{WRAP}.
        let mut parts = Delimited::new(&out[4..]);
        let header: crate::hadoop_ipc::proto::RpcRequestHeaderProto = parts.decode("header").unwrap();
        assert_eq!(header.call_id, SASL_CALL_ID);
        let m: RpcSaslProto = parts.decode("sasl").unwrap();
        assert_eq!(m.state, SaslState::Wrap as i32);
    }
    let (mut plain, _) = channel(Qop::Authentication, 1);
    assert_eq!(plain.seal(&[0, 0, 0, 1, 5]).unwrap(), vec![0, 0, 0, 1, 5], "authentication sends in the clear");
}

/// The plaintext sizes of the wrapped units `seal` makes of `len` bytes, the server announcing
/// `server_max`.
fn units(qop: Qop, server_max: u32, len: usize) -> Vec<usize> {
    let login = FakeLogin::default();
    let (est, _) = run_with_buffer(&[qop], qop.layer_bit(), server_max, &login).expect("exchange succeeds");
    let mut ch = SecureChannel::new(est);
    login.wrapped.lock().unwrap().clear();
    ch.seal(&vec![1u8; len]).expect("seal");
    let sizes = login.wrapped.lock().unwrap().iter().map(|(_, d)| d.len()).collect();
    sizes
}

#[test]
fn writes_are_cut_to_the_servers_buffer_less_the_wrap_tokens_own_bytes() {
    assert_eq!(units(Qop::Integrity, 1024, 3000), vec![896, 896, 896, 312]);
    assert_eq!(units(Qop::Privacy, 65536, 100), vec![100], "one unit when it fits");
    // A tiny buffer is honoured: no floor above what the server accepts.
    assert_eq!(units(Qop::Privacy, 200, 300), vec![72, 72, 72, 72, 12]);
    assert_eq!(units(Qop::Integrity, 129, 3), vec![1, 1, 1], "one byte of room is still room");
}

#[test]
fn a_buffer_with_no_room_for_a_wrapped_message_is_refused() {
    for server_max in [0, 64, 128] {
        let login = FakeLogin::default();
        let e = run_with_buffer(&[Qop::Privacy], 4, server_max, &login).expect_err("must fail");
        assert!(
            matches!(e, SaslError::Protocol(ref m) if m.contains(&format!("receive buffer of {server_max} bytes"))),
            "{e}"
        );
    }
    // Without a security layer the buffer does not matter (servers announce 0 then).
    let (est, choice) = run_with_buffer(&[Qop::Authentication], 1, 0, &FakeLogin::default()).expect("no layer");
    assert!(!est.wraps());
    assert_eq!(choice, [1, 0, 0, 0]);
}

#[test]
fn wrapped_answers_are_reassembled_into_frames() {
    let (mut ch, _) = channel(Qop::Privacy, 4);
    let frame = [0u8, 0, 0, 3, 1, 2, 3, 0, 0, 0, 1, 9];
    // One frame split over two wrapped units, the second also holding a whole frame.
    ch.receive(wrap_unit(&frame[..5], b'P')).unwrap();
    assert_eq!(ch.next_frame(1024).unwrap(), None, "incomplete until the rest arrives");
    ch.receive(wrap_unit(&frame[5..], b'P')).unwrap();
    assert_eq!(ch.next_frame(1024).unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(ch.next_frame(1024).unwrap(), Some(vec![9]));
    assert_eq!(ch.next_frame(1024).unwrap(), None);

    ch.receive(wrap_unit(&[0, 0, 0x10, 0, 1], b'P')).unwrap();
    assert!(ch.next_frame(1024).is_err(), "a wrapped length above the limit is refused");
}

#[test]
fn an_answer_split_over_wrapped_units_is_taken_when_complete() {
    let (mut ch, _) = channel(Qop::Integrity, 2);
    ch.receive(wrap_unit(&[0, 0, 0, 3, 1], b'I')).unwrap();
    assert_eq!(ch.answer(1024).unwrap(), None);
    ch.receive(wrap_unit(&[2, 3], b'I')).unwrap();
    assert_eq!(ch.answer(1024).unwrap(), Some(vec![1, 2, 3]));
}

#[test]
fn bytes_beyond_the_answer_are_refused() {
    // A whole second frame, or the start of one: either way the stream is out of step.
    for tail in [&[0u8, 0, 0, 1, 9][..], &[0, 0][..]] {
        let (mut ch, _) = channel(Qop::Privacy, 4);
        let mut unit = vec![0, 0, 0, 3, 1, 2, 3];
        unit.extend_from_slice(tail);
        ch.receive(wrap_unit(&unit, b'P')).unwrap();
        let e = ch.answer(1024).expect_err("refused");
        assert!(
            matches!(e, SaslError::Protocol(ref m) if m.contains(&format!("{} bytes beyond the answer", tail.len()))),
            "{e}"
        );
    }
}

#[test]
fn plaintext_beside_a_wrap_token_is_refused() {
    let (mut ch, _) = channel(Qop::Privacy, 4);
    let mut frame = wrap_unit(&[0, 0, 0, 1, 7], b'P');
    frame.extend_from_slice(&[2, 8, 1]);
    let e = ch.receive(frame).expect_err("refused");
    assert!(matches!(e, SaslError::Protocol(ref m) if m.contains("3 bytes after the wrap token")), "{e}");
    assert_eq!(ch.answer(1024).unwrap(), None, "and its token is not taken either");
}

fn clear_answer(call_id: i32, status: RpcStatus) -> Vec<u8> {
    let header = RpcResponseHeaderProto {
        call_id: call_id as u32,
        status: status as i32,
        exception_class_name: (status != RpcStatus::Success).then(|| "org.apache.hadoop.ipc.RpcServerException".into()),
        error_msg: (status != RpcStatus::Success).then(|| "forged".into()),
        ..Default::default()
    };
    encode_frame(&[&header])[4..].to_vec()
}

#[test]
fn every_unwrapped_frame_under_integrity_or_privacy_is_refused() {
    let clear = [
        (clear_answer(0, RpcStatus::Success), "SUCCESS answer for call 0 in the clear"),
        (clear_answer(0, RpcStatus::Error), "ERROR answer for call 0 in the clear"),
        (clear_answer(-1, RpcStatus::Fatal), "FATAL answer for call -1 in the clear"),
        (
            encode_frame(&[
                &RpcResponseHeaderProto { call_id: SASL_CALL_ID as u32, status: 0, ..Default::default() },
                &msg(SaslState::Success, None, vec![]),
            ])[4..]
                .to_vec(),
            "SASL SUCCESS where WRAP was expected",
        ),
    ];
    for qop in [Qop::Integrity, Qop::Privacy] {
        for (frame, what) in &clear {
            let (mut ch, _) = channel(qop, 1 | 2 | 4);
            let e = ch.receive(frame.clone()).expect_err("refused");
            assert!(matches!(e, SaslError::NotWrapped(_, q) if q == qop), "{qop}: {e:?}");
            let text = e.to_string();
            assert!(text.starts_with("Server sent non-wrapped response"), "Hadoop's words: {text}");
            assert!(text.contains(what) && text.contains(&format!("with {qop} every answer")), "{text}");
            assert_eq!(ch.next_frame(1024).unwrap(), None, "{qop}: nothing of it reaches the caller");
        }
    }
    let (mut ch, _) = channel(Qop::Integrity, 2);
    assert!(ch.receive(wrap_unit(b"xx", b'?')).is_err(), "a token that does not unwrap");
}

#[test]
fn under_authentication_frames_are_taken_as_they_are() {
    let (mut ch, _) = channel(Qop::Authentication, 1);
    let fatal = clear_answer(-1, RpcStatus::Fatal);
    ch.receive(fatal.clone()).expect("no layer: nothing is wrapped");
    assert_eq!(ch.next_frame(1024).unwrap(), Some(fatal));
}
