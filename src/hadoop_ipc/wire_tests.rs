//! Golden frames (byte-exact, from hadoop-ha-protocol.md §1.10: SIMPLE auth, user `yarn`, client
//! id 0x10..0x1f) and property tests that feed random and truncated bytes to both decoders.

use proptest::prelude::*;

use super::*;
use crate::hadoop_ipc::frame::preamble;
use crate::hadoop_ipc::ha::{HA_PROTOCOL, HA_PROTOCOL_VERSION};
use crate::hadoop_ipc::server::{Inbound, ServerConn};

const CLIENT_ID: [u8; 16] =
    [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f];

fn hex(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        match tok {
            "<id>" => out.extend_from_slice(&CLIENT_ID),
            t if t.starts_with('"') => out.extend_from_slice(t.trim_matches('"').as_bytes()),
            t => out.push(u8::from_str_radix(t, 16).expect("hex byte")),
        }
    }
    out
}

fn ha(name: &str) -> Method<'_> {
    Method { protocol: HA_PROTOCOL, protocol_version: HA_PROTOCOL_VERSION, name }
}

#[test]
fn golden_preamble_without_sasl() {
    assert_eq!(preamble(0).to_vec(), hex("68 72 70 63 09 00 00"));
}

#[test]
fn golden_connection_context() {
    let expected = hex(r#"00 00 00 4c 1a 08 02 10 00 18 05 22 10 <id> 28 01
        30 12 06 0a 04 79 61 72 6e 1a 26 "org.apache.hadoop.ha.HAServiceProtocol""#);
    assert_eq!(connection_context_frame(&CLIENT_ID, Some("yarn"), HA_PROTOCOL), expected);
}

#[test]
fn golden_get_service_status_call_0() {
    let expected = hex(r#"00 00 00 59 1a 08 02 10 00 18 00 22 10 <id> 28 00
        3c 0a 10 "getServiceStatus" 12 26 "org.apache.hadoop.ha.HAServiceProtocol" 18 01 00"#);
    assert_eq!(call_frame(0, &CLIENT_ID, ha("getServiceStatus"), &EmptyProto {}), expected);
}

#[test]
fn golden_transition_to_active_by_zkfc_call_1() {
    let expected = hex(r#"00 00 00 5f 1a 08 02 10 00 18 02 22 10 <id> 28 00
        3e 0a 12 "transitionToActive" 12 26 "org.apache.hadoop.ha.HAServiceProtocol" 18 01
        04 0a 02 08 02"#);
    let req = TransitionRequestProto {
        req_info: HaStateChangeRequestInfoProto { req_source: HaRequestSourceProto::RequestByZkfc as i32 },
    };
    assert_eq!(call_frame(1, &CLIENT_ID, ha("transitionToActive"), &req), expected);
}

#[test]
fn golden_ping() {
    assert_eq!(ping_frame(&CLIENT_ID), hex("00 00 00 1b 1a 08 02 10 00 18 07 22 10 <id> 28 01"));
}

#[test]
fn golden_sasl_negotiate() {
    assert_eq!(sasl_negotiate_frame(), hex("00 00 00 0e 0a 08 02 10 00 18 41 22 00 28 01 02 10 01"));
}

#[test]
fn golden_get_service_status_response_standby_ready() {
    let expected = hex("00 00 00 20 1a 08 00 10 00 18 09 3a 10 <id> 40 00 04 08 02 10 01");
    let body = GetServiceStatusResponseProto {
        state: HaServiceStateProto::Standby as i32,
        ready_to_become_active: Some(true),
        not_ready_reason: None,
    };
    assert_eq!(success_frame(0, &CLIENT_ID, 0, &body), expected);
    let resp = decode_response(&expected[4..]).expect("decodes");
    assert_eq!(resp.call_id(), 0);
    assert_eq!(resp.body, Some(&[0x08, 0x02, 0x10, 0x01][..]));
}

#[test]
fn response_call_id_minus_one_is_uint32_on_the_wire() {
    let e = crate::hadoop_ipc::RemoteException::new("org.apache.hadoop.security.AccessControlException", "no")
        .with_detail(RpcErrorCode::FatalUnauthorized);
    let frame = error_frame(-1, &[], -1, &e);
    // callId field: tag 0x08 then varint 0xFFFFFFFF = ff ff ff ff 0f.
    assert_eq!(&frame[5..11], &[0x08, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    let resp = decode_response(&frame[4..]).expect("decodes");
    assert_eq!(resp.call_id(), -1);
    assert_eq!(resp.header.status, RpcStatus::Fatal as i32);
    assert!(resp.body.is_none());
}

#[test]
fn server_accepts_a_well_formed_call_after_the_context() {
    let mut conn = ServerConn::accept(&preamble(0)).expect("preamble accepted");
    let ctx = connection_context_frame(&CLIENT_ID, Some("yarn"), HA_PROTOCOL);
    assert_eq!(conn.on_frame(&ctx[4..]), Inbound::Nothing);
    assert_eq!(conn.effective_user.as_deref(), Some("yarn"));
    let call = call_frame(7, &CLIENT_ID, ha("monitorHealth"), &EmptyProto {});
    match conn.on_frame(&call[4..]) {
        Inbound::Call(c) => {
            assert_eq!((c.call_id, c.method.as_str(), c.protocol.as_str()), (7, "monitorHealth", HA_PROTOCOL));
            assert_eq!(c.client_id, CLIENT_ID.to_vec());
        }
        other => panic!("expected a call, got {other:?}"),
    }
}

#[test]
fn server_refuses_a_call_before_the_context_with_a_fatal_answer() {
    let mut conn = ServerConn::accept(&preamble(0)).expect("preamble accepted");
    let call = call_frame(0, &CLIENT_ID, ha("monitorHealth"), &EmptyProto {});
    match conn.on_frame(&call[4..]) {
        Inbound::Reply { bytes, close: true } => {
            let resp = decode_response(&bytes[4..]).expect("decodes");
            assert_eq!(resp.header.status, RpcStatus::Fatal as i32);
            assert_eq!(resp.header.error_msg.as_deref(), Some("Connection context not established"));
        }
        other => panic!("expected a fatal reply, got {other:?}"),
    }
}

#[test]
fn server_answers_sasl_negotiate_with_success_so_the_client_falls_back_to_simple() {
    let mut conn = ServerConn::accept(&preamble(0xDF)).expect("preamble accepted");
    match conn.on_frame(&sasl_negotiate_frame()[4..]) {
        Inbound::Reply { bytes, close: false } => {
            let resp = decode_response(&bytes[4..]).expect("decodes");
            assert_eq!(resp.call_id(), SASL_CALL_ID);
            let sasl = <RpcSaslProto as prost::Message>::decode(resp.body.expect("body")).expect("sasl");
            assert_eq!(sasl.state, SaslState::Success as i32);
        }
        other => panic!("expected a SASL reply, got {other:?}"),
    }
    let ctx = connection_context_frame(&CLIENT_ID, Some("yarn"), HA_PROTOCOL);
    assert_eq!(conn.on_frame(&ctx[4..]), Inbound::Nothing);
}

#[test]
fn server_refuses_wrong_version_and_unknown_auth_and_http() {
    let wrong = ServerConn::accept(b"hrpc\x07\x00\x00").expect_err("refused");
    let resp = decode_response(&wrong[4..]).expect("decodes");
    assert_eq!(resp.header.error_detail, Some(RpcErrorCode::FatalVersionMismatch as i32));
    let auth = ServerConn::accept(b"hrpc\x09\x00\x51").expect_err("refused");
    let resp = decode_response(&auth[4..]).expect("decodes");
    assert_eq!(resp.header.error_detail, Some(RpcErrorCode::FatalUnauthorized as i32));
    let http = ServerConn::accept(b"GET / H").expect_err("refused");
    assert!(http.starts_with(b"HTTP/1.1 404"));
    assert!(ServerConn::accept(b"\0\0\0\0\0\0\0").expect_err("refused").is_empty());
}

fn established() -> ServerConn {
    let mut conn = ServerConn::accept(&preamble(0)).expect("preamble accepted");
    let ctx = connection_context_frame(&CLIENT_ID, Some("yarn"), HA_PROTOCOL);
    assert_eq!(conn.on_frame(&ctx[4..]), Inbound::Nothing);
    conn
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn response_decoder_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_response(&bytes);
    }

    #[test]
    fn server_never_panics_on_random_frames(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..128), 0..6)) {
        let mut conn = established();
        for f in &frames {
            let _ = conn.on_frame(f);
        }
    }

    #[test]
    fn server_never_panics_on_random_preambles(p in any::<[u8; 7]>()) {
        let _ = ServerConn::accept(&p);
    }

    #[test]
    fn truncated_calls_never_become_calls_with_other_contents(cut in 0usize..93, id in 0i32..i32::MAX) {
        let full = call_frame(id, &CLIENT_ID, ha("getServiceStatus"), &EmptyProto {});
        let body = &full[4..];
        let cut = cut.min(body.len());
        let mut conn = established();
        match conn.on_frame(&body[..cut]) {
            Inbound::Call(c) => {
                // Only a cut that still holds every delimited message can decode to a call,
                // and then it must be the same call.
                prop_assert_eq!(c.call_id, id);
                prop_assert_eq!(c.method.as_str(), "getServiceStatus");
            }
            Inbound::Reply { close, .. } => prop_assert!(close),
            Inbound::Nothing => prop_assert!(false, "a truncated call must not be swallowed silently"),
        }
    }

    #[test]
    fn truncated_responses_never_decode_to_a_different_answer(cut in 0usize..32) {
        let body = GetServiceStatusResponseProto { state: HaServiceStateProto::Active as i32, ready_to_become_active: Some(true), not_ready_reason: None };
        let full = success_frame(3, &CLIENT_ID, 0, &body);
        let frame = &full[4..];
        if let Ok(resp) = decode_response(&frame[..cut.min(frame.len())]) {
            if let Some(b) = resp.body {
                if let Ok(decoded) = <GetServiceStatusResponseProto as prost::Message>::decode(b) {
                    prop_assert_eq!(decoded, body);
                }
            }
        }
    }

    #[test]
    fn calls_round_trip(id in 0i32..i32::MAX, source in 0i32..3, user in "[a-z]{1,12}") {
        let mut conn = ServerConn::accept(&preamble(0)).expect("accepted");
        let ctx = connection_context_frame(&CLIENT_ID, Some(&user), HA_PROTOCOL);
        prop_assert_eq!(conn.on_frame(&ctx[4..]), Inbound::Nothing);
        prop_assert_eq!(conn.effective_user.as_deref(), Some(user.as_str()));
        let req = TransitionRequestProto { req_info: HaStateChangeRequestInfoProto { req_source: source } };
        let frame = call_frame(id, &CLIENT_ID, ha("transitionToStandby"), &req);
        match conn.on_frame(&frame[4..]) {
            Inbound::Call(c) => {
                prop_assert_eq!(c.call_id, id);
                prop_assert_eq!(<TransitionRequestProto as prost::Message>::decode(&c.request[..]).expect("decodes"), req);
            }
            other => prop_assert!(false, "expected a call, got {:?}", other),
        }
    }
}
