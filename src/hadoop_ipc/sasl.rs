//! SASL GSSAPI (Kerberos) over Hadoop IPC, client side, as Hadoop's `SaslRpcClient` runs it:
//! NEGOTIATE → the server lists its methods → INITIATE with the KERBEROS entry and the first GSS
//! token → CHALLENGE / RESPONSE until the GSS context is established → the server's wrapped
//! security-layer offer (RFC 4752 §3.1: a bit mask and its receive buffer size) → our wrapped
//! choice → SUCCESS. With `integrity` or `privacy` every later byte, both ways, travels inside
//! `RpcSaslProto{state: WRAP}` frames (Hadoop's `WrappedOutputStream` / `WrappedInputStream`).
//!
//! Owns: the exchange as data in, data out, the server-principal check and the choice of
//! protection, and the WRAP framing. Must not: do I/O, or fall back to SIMPLE when a server
//! does not offer Kerberos (Hadoop's client refuses that too unless told otherwise). Kerberos
//! itself sits behind [`GssContext`] (MIT's library in `gss.rs`; a fake in the tests).

use std::num::NonZeroUsize;

use crate::config::Qop;

use super::error::SettingNames;
use super::frame::{Delimited, WireError};
use super::proto::{RpcResponseHeaderProto, RpcSaslProto, RpcStatus, SaslAuth, SaslState};
use super::wire::{self, SASL_CALL_ID};

/// Hadoop's `AuthMethod.KERBEROS` name and mechanism.
pub const KERBEROS_METHOD: &str = "KERBEROS";
pub const GSSAPI_MECHANISM: &str = "GSSAPI";

/// The receive buffer we announce for wrapped traffic (Java's default, `javax.security.sasl.maxbuffer`).
const OUR_MAX_BUFFER: u32 = 65536;
/// Room left in each wrapped unit for the GSS wrap token's own header, checksum and padding. An
/// upper bound (the largest, aes256-cts-hmac-sha384-192 with privacy, takes 72 bytes): libgssapi
/// offers no `gss_wrap_size_limit` to ask for the exact figure.
const WRAP_OVERHEAD: usize = 128;

/// One established (or establishing) Kerberos context, as the SASL layer needs it. `Send`: the
/// exchange's steps run on tokio's blocking pool (they may wait for the KDC), so the context
/// moves between threads (one at a time: it is never shared).
pub trait GssContext: Send + 'static {
    /// Feeds the server's token (`None` first) and returns the token to send, if any.
    fn step(&mut self, input: Option<&[u8]>) -> Result<Option<Vec<u8>>, String>;
    fn is_complete(&self) -> bool;
    /// `gss_wrap`; `encrypt` = confidentiality (privacy), else integrity only.
    fn wrap(&mut self, encrypt: bool, data: &[u8]) -> Result<Vec<u8>, String>;
    /// `gss_unwrap`.
    fn unwrap(&mut self, data: &[u8]) -> Result<Vec<u8>, String>;
}

/// Starts Kerberos contexts with one login (rmfc's principal and keytab). `Send + Sync`: every
/// connection's exchange uses it from a thread of tokio's blocking pool.
pub trait GssLogin: Send + Sync + 'static {
    /// A fresh context towards the service principal `target` (`service/host@REALM`).
    fn start(&self, target: &str) -> Result<Box<dyn GssContext>, String>;
    /// Who we are, for error messages (e.g. `rmfc/host@REALM from keytab /etc/...`).
    fn describe(&self) -> String;
}

/// Why the SASL exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// The server answered NEGOTIATE with SUCCESS: it runs with SIMPLE authentication.
    #[error(
        "the server does not use Kerberos (it runs with hadoop.security.authentication=simple); rmfc is \
         told to use Kerberos and does not fall back to SIMPLE — {}, or enable Kerberos on the RM",
        .0.use_simple()
    )]
    ServerIsSimple(SettingNames),
    /// The server offered no KERBEROS/GSSAPI method.
    #[error("the server offers only {offered} and rmfc authenticates with KERBEROS (GSSAPI) only")]
    NoKerberos { offered: String },
    /// The server's advertised principal is not the configured one (Hadoop's own check).
    #[error(
        "server has Kerberos principal {advertised}, expecting {expected} ({}, _HOST replaced by the RM's host)",
        .names.rm_principal()
    )]
    WrongServerPrincipal { advertised: String, expected: String, names: SettingNames },
    /// No quality of protection in common.
    #[error(
        "the server offers hadoop.rpc.protection {offered} and rmfc accepts {accepted} ({}): none in common",
        .names.rpc_protection()
    )]
    NoCommonProtection { offered: String, accepted: String, names: SettingNames },
    /// Kerberos itself failed (no credentials, unknown principal, clock skew, bad token...).
    #[error("Kerberos: {0}")]
    Gss(String),
    /// `gss_wrap` failed on an established layer: not an authentication failure, the message
    /// could not be sent.
    #[error("could not protect the message (GSSAPI wrap): {0}")]
    Wrap(String),
    /// `gss_unwrap` refused a message on an established layer (forged, replayed, out of order).
    #[error("could not verify the server's message (GSSAPI unwrap): {0}")]
    Unwrap(String),
    /// The server broke the protocol.
    #[error("SASL protocol violation: {0}")]
    Protocol(String),
    /// A frame outside the security layer after integrity or privacy was agreed: anyone on the
    /// path could have written it. Hadoop's client refuses it with the same words.
    #[error("Server sent non-wrapped response ({0}); with {1} every answer must be wrapped")]
    NotWrapped(String, Qop),
}

/// What to send next, or the end of the exchange.
#[derive(Debug)]
pub enum SaslStep {
    Send(RpcSaslProto),
    Established(Established),
}

impl std::fmt::Debug for Established {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Established").field("qop", &self.qop).field("chunk", &self.chunk).finish()
    }
}

impl std::fmt::Debug for dyn GssLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The outcome of a successful exchange: the context and the protection chosen.
pub struct Established {
    gss: Box<dyn GssContext>,
    pub qop: Qop,
    /// With a security layer, the most plaintext one wrapped unit carries (see [`wrap_chunk`]);
    /// `None` without one (`authentication`). Set together with `qop`, by `choose_layer` only.
    chunk: Option<NonZeroUsize>,
}

impl Established {
    /// Whether later traffic must be wrapped.
    pub fn wraps(&self) -> bool {
        self.chunk.is_some()
    }
}

/// The most plaintext one wrapped unit may carry so that the unit fits the receive buffer the
/// server announced (`server_max`, RFC 4752: the largest wrapped message it accepts): that
/// buffer less the wrap token's own bytes, and no floor above it. A buffer with no room for any
/// plaintext (0, or no more than a token's own bytes) is refused rather than overrun.
pub(super) fn wrap_chunk(server_max: usize, qop: Qop) -> Result<NonZeroUsize, SaslError> {
    server_max.checked_sub(WRAP_OVERHEAD).and_then(NonZeroUsize::new).ok_or_else(|| {
        SaslError::Protocol(format!(
            "the server offers {qop} with a receive buffer of {server_max} bytes, too small for any wrapped \
             message (a GSSAPI wrap token takes up to {WRAP_OVERHEAD} bytes itself)"
        ))
    })
}

enum Phase {
    AwaitNegotiate,
    Handshake(Box<dyn GssContext>),
    LayerChosen(Box<dyn GssContext>, Qop, Option<NonZeroUsize>),
    Done,
}

/// The client side of one connection's SASL exchange.
pub struct SaslClient {
    /// The server principal expected, `_HOST` already replaced, with realm.
    expected: String,
    accept: Vec<Qop>,
    /// How errors name the settings to change.
    names: SettingNames,
    phase: Phase,
}

fn sasl(state: SaslState, token: Option<Vec<u8>>) -> RpcSaslProto {
    RpcSaslProto { version: None, state: state as i32, token, auths: Vec::new() }
}

impl SaslClient {
    pub fn new(expected_principal: &str, accept: &[Qop], names: SettingNames) -> Self {
        SaslClient {
            expected: expected_principal.to_string(),
            accept: accept.to_vec(),
            names,
            phase: Phase::AwaitNegotiate,
        }
    }

    /// The first message: NEGOTIATE, no token.
    pub fn negotiate() -> RpcSaslProto {
        sasl(SaslState::Negotiate, None)
    }

    /// Handles one server message; `login` starts the context when the server has listed its methods.
    pub fn on_message(&mut self, msg: RpcSaslProto, login: &dyn GssLogin) -> Result<SaslStep, SaslError> {
        let state =
            SaslState::try_from(msg.state).map_err(|_| SaslError::Protocol(format!("unknown state {}", msg.state)))?;
        match (std::mem::replace(&mut self.phase, Phase::Done), state) {
            (Phase::AwaitNegotiate, SaslState::Success) => Err(SaslError::ServerIsSimple(self.names)),
            (Phase::AwaitNegotiate, SaslState::Negotiate) => {
                let auth = self.select(&msg.auths)?;
                let mut gss = login.start(&self.expected).map_err(SaslError::Gss)?;
                let first = gss.step(auth.challenge.as_deref()).map_err(SaslError::Gss)?;
                let mut reply = sasl(SaslState::Initiate, Some(first.unwrap_or_default()));
                reply.auths.push(SaslAuth { challenge: None, ..auth });
                self.phase = Phase::Handshake(gss);
                Ok(SaslStep::Send(reply))
            }
            (Phase::Handshake(mut gss), SaslState::Challenge) => {
                let token =
                    msg.token.ok_or_else(|| SaslError::Protocol("server challenge contains no token".into()))?;
                if !gss.is_complete() {
                    let out = gss.step(Some(&token)).map_err(SaslError::Gss)?;
                    self.phase = Phase::Handshake(gss);
                    // Once the context is complete the answer is empty, as Java's GssKrb5Client sends.
                    return Ok(SaslStep::Send(sasl(SaslState::Response, Some(out.unwrap_or_default()))));
                }
                let (qop, chunk) = self.choose_layer(gss.as_mut(), &token)?;
                let mut choice = vec![qop.layer_bit()];
                let ours = if qop == Qop::Authentication { 0 } else { OUR_MAX_BUFFER };
                choice.extend_from_slice(&ours.to_be_bytes()[1..]);
                // No authorization id: the server then authorizes as the authenticated principal.
                let wrapped = gss.wrap(false, &choice).map_err(SaslError::Gss)?;
                self.phase = Phase::LayerChosen(gss, qop, chunk);
                Ok(SaslStep::Send(sasl(SaslState::Response, Some(wrapped))))
            }
            (Phase::LayerChosen(gss, qop, chunk), SaslState::Success) => {
                if msg.token.as_ref().is_some_and(|t| !t.is_empty()) {
                    return Err(SaslError::Protocol("token after the security layer was agreed".into()));
                }
                Ok(SaslStep::Established(Established { gss, qop, chunk }))
            }
            (Phase::Handshake(_), SaslState::Success) => {
                Err(SaslError::Protocol("server reported success before the Kerberos context was complete".into()))
            }
            (_, other) => Err(SaslError::Protocol(format!("unexpected {other:?} from the server"))),
        }
    }

    /// The server's KERBEROS entry, checked against the expected principal as Hadoop's
    /// `SaslRpcClient.getServerPrincipal` checks it (`protocol/serverId` against the configured
    /// principal; the realm is the configured one).
    fn select(&self, auths: &[SaslAuth]) -> Result<SaslAuth, SaslError> {
        let Some(auth) = auths.iter().find(|a| a.method == KERBEROS_METHOD && a.mechanism == GSSAPI_MECHANISM) else {
            let offered = if auths.is_empty() {
                "nothing".to_string()
            } else {
                auths.iter().map(|a| format!("{} ({})", a.method, a.mechanism)).collect::<Vec<_>>().join(", ")
            };
            return Err(SaslError::NoKerberos { offered });
        };
        let advertised =
            format!("{}/{}", auth.protocol.as_deref().unwrap_or(""), auth.server_id.as_deref().unwrap_or(""));
        let expected_name = self.expected.rsplit_once('@').map(|(n, _)| n).unwrap_or(&self.expected);
        if advertised != expected_name {
            return Err(SaslError::WrongServerPrincipal {
                advertised,
                expected: self.expected.clone(),
                names: self.names,
            });
        }
        Ok(auth.clone())
    }

    /// Reads the server's offer (bit mask, buffer size) and picks the first accepted protection
    /// the server offers, with the wrapped unit size its buffer allows.
    fn choose_layer(&self, gss: &mut dyn GssContext, token: &[u8]) -> Result<(Qop, Option<NonZeroUsize>), SaslError> {
        let offer = gss.unwrap(token).map_err(SaslError::Gss)?;
        let [mask, b1, b2, b3] = offer[..] else {
            return Err(SaslError::Protocol(format!("security-layer offer of {} bytes, expected 4", offer.len())));
        };
        let server_max = u32::from_be_bytes([0, b1, b2, b3]) as usize;
        let offered: Vec<Qop> = [Qop::Authentication, Qop::Integrity, Qop::Privacy]
            .into_iter()
            .filter(|q| mask & q.layer_bit() != 0)
            .collect();
        match self.accept.iter().find(|q| offered.contains(q)) {
            Some(Qop::Authentication) => Ok((Qop::Authentication, None)),
            Some(q) => Ok((*q, Some(wrap_chunk(server_max, *q)?))),
            None => Err(SaslError::NoCommonProtection {
                offered: if offered.is_empty() { "(none)".into() } else { Qop::list_to_string(&offered) },
                accepted: Qop::list_to_string(&self.accept),
                names: self.names,
            }),
        }
    }
}

/// The connection's security layer after SASL: wraps what we send and unwraps what we read.
pub struct SecureChannel {
    est: Established,
    /// Unwrapped bytes not yet consumed as frames.
    plain: Vec<u8>,
}

impl SecureChannel {
    pub fn new(est: Established) -> Self {
        SecureChannel { est, plain: Vec::new() }
    }

    pub fn qop(&self) -> Qop {
        self.est.qop
    }

    /// What to write for `bytes` (whole frames, length prefixes included): as they are under
    /// `authentication`, else in WRAP frames no larger than the server accepts.
    pub fn seal(&mut self, bytes: &[u8]) -> Result<Vec<u8>, SaslError> {
        let Some(chunk) = self.est.chunk else {
            return Ok(bytes.to_vec());
        };
        let encrypt = self.est.qop == Qop::Privacy;
        let mut out = Vec::with_capacity(bytes.len() + 64);
        for part in bytes.chunks(chunk.get()) {
            let token = self.est.gss.wrap(encrypt, part).map_err(SaslError::Wrap)?;
            out.extend(wire::sasl_frame(&sasl(SaslState::Wrap, Some(token))));
        }
        Ok(out)
    }

    /// Takes one frame as read from the socket. Under `authentication` it is the frame itself;
    /// else it MUST be a WRAP frame, whose contents join the unwrapped stream. Every other
    /// frame is refused, errors included: Hadoop's server wraps its FATAL answers too once the
    /// layer is agreed (`Server.setupResponse`), so an unwrapped one comes from someone else,
    /// and believing it would let anyone on the path end or steer the conversation.
    pub fn receive(&mut self, frame: Vec<u8>) -> Result<(), SaslError> {
        if !self.est.wraps() {
            self.plain.extend_from_slice(&(frame.len() as u32).to_be_bytes());
            self.plain.extend(frame);
            return Ok(());
        }
        let mut parts = Delimited::new(&frame);
        let header: RpcResponseHeaderProto = parts.decode("response header").map_err(wire_err)?;
        if header.call_id as i32 != SASL_CALL_ID {
            let status = RpcStatus::try_from(header.status)
                .map(|s| format!("{s:?}").to_uppercase())
                .unwrap_or_else(|_| format!("status {}", header.status));
            let what = format!("{status} answer for call {} in the clear", header.call_id as i32);
            return Err(SaslError::NotWrapped(what, self.est.qop));
        }
        let msg: RpcSaslProto = parts.decode("SASL message").map_err(wire_err)?;
        if parts.remaining() > 0 {
            // Plaintext beside the wrap token: nobody vouches for it, so it is not skipped silently.
            return Err(SaslError::Protocol(format!(
                "{} bytes after the wrap token of a WRAP frame",
                parts.remaining()
            )));
        }
        if msg.state != SaslState::Wrap as i32 {
            let state = SaslState::try_from(msg.state)
                .map(|s| format!("{s:?}").to_uppercase())
                .unwrap_or_else(|_| format!("state {}", msg.state));
            return Err(SaslError::NotWrapped(format!("SASL {state} where WRAP was expected"), self.est.qop));
        }
        let token = msg.token.unwrap_or_default();
        let plain = self.est.gss.unwrap(&token).map_err(SaslError::Unwrap)?;
        self.plain.extend(plain);
        Ok(())
    }

    /// The answer to the call just sent, once its frame is complete in the unwrapped stream.
    /// Calls go one at a time, so nothing may follow it: bytes beyond it are refused (the stream
    /// is out of step, and the next call would take them for the start of its own answer).
    pub fn answer(&mut self, max: u32) -> Result<Option<Vec<u8>>, SaslError> {
        let frame = self.next_frame(max)?;
        if frame.is_some() && !self.plain.is_empty() {
            return Err(SaslError::Protocol(format!(
                "{} bytes beyond the answer inside the security layer: the stream is out of step",
                self.plain.len()
            )));
        }
        Ok(frame)
    }

    /// The next whole frame body of the unwrapped stream, if one is complete; lengths above
    /// `max` are refused.
    fn next_frame(&mut self, max: u32) -> Result<Option<Vec<u8>>, SaslError> {
        if self.plain.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.plain[0], self.plain[1], self.plain[2], self.plain[3]]);
        if len == 0 || len > max {
            return Err(SaslError::Protocol(format!("wrapped frame length {len} (limit {max})")));
        }
        let end = 4 + len as usize;
        if self.plain.len() < end {
            return Ok(None);
        }
        let body = self.plain[4..end].to_vec();
        self.plain.drain(..end);
        Ok(Some(body))
    }
}

fn wire_err(e: WireError) -> SaslError {
    SaslError::Protocol(e.to_string())
}

#[cfg(test)]
#[path = "sasl_tests.rs"]
mod tests;
