//! Hadoop IPC v9 framing: the 7-byte connection preamble, and frames made of a 4-byte big-endian
//! length followed by varint-delimited protobuf messages (`writeDelimitedTo`).
//!
//! Owns: byte layout and the length limit. Must not: interpret message contents or do I/O beyond
//! reading/writing one frame; every length is checked against the limit BEFORE any allocation.

use bytes::{Buf, BufMut};
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt};

/// `"hrpc"`, the first four bytes a client sends.
pub const MAGIC: &[u8; 4] = b"hrpc";
/// `RpcConstants.CURRENT_VERSION`.
pub const VERSION: u8 = 9;
/// Auth protocol byte for no SASL.
pub const AUTH_NONE: u8 = 0x00;
/// Auth protocol byte for SASL (`(byte)-33`).
pub const AUTH_SASL: u8 = 0xDF;
/// HA messages are tiny; a frame above this is garbage or an attack. Hadoop's own limit is
/// 128 MiB (`ipc.maximum.data.length`), which we keep only as the hard upper bound.
pub const DEFAULT_MAX_FRAME: u32 = 1024 * 1024;

/// The connection preamble: magic, version, service class, auth protocol.
pub fn preamble(auth: u8) -> [u8; 7] {
    [MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION, 0, auth]
}

/// What the first seven bytes of a connection say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preamble {
    /// A v9 client; carries the auth protocol byte.
    Ok { auth: u8 },
    /// The client spoke HTTP (`GET `) to the IPC port.
    Http,
    /// `hrpc` with another version.
    WrongVersion(u8),
    /// Not Hadoop IPC at all.
    BadMagic,
}

/// Classifies the first seven bytes a server reads.
pub fn parse_preamble(b: &[u8; 7]) -> Preamble {
    if &b[..4] == b"GET " {
        Preamble::Http
    } else if &b[..4] != MAGIC {
        Preamble::BadMagic
    } else if b[4] != VERSION {
        Preamble::WrongVersion(b[4])
    } else {
        Preamble::Ok { auth: b[6] }
    }
}

/// Encodes one frame: `u32` length, then each message length-delimited.
pub fn encode_frame(parts: &[&dyn DynMessage]) -> Vec<u8> {
    let body: usize = parts.iter().map(|m| m.delimited_len()).sum();
    let mut out = Vec::with_capacity(4 + body);
    out.put_u32(body as u32);
    for p in parts {
        p.write_delimited(&mut out);
    }
    out
}

/// Object-safe view of a prost message, so frames can mix message types.
pub trait DynMessage {
    fn delimited_len(&self) -> usize;
    fn write_delimited(&self, out: &mut Vec<u8>);
}

impl<M: Message> DynMessage for M {
    fn delimited_len(&self) -> usize {
        let n = self.encoded_len();
        prost::length_delimiter_len(n) + n
    }
    fn write_delimited(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot run out of space.
        let _ = self.encode_length_delimited(out);
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {len} exceeds the limit of {max} bytes")]
    TooLong { len: u32, max: u32 },
    #[error("empty frame")]
    Empty,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads one frame body (without its length prefix). `Ok(None)` is a clean end of stream
/// before the first length byte.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R, max: u32) -> Result<Option<Vec<u8>>, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len[..1]).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    r.read_exact(&mut len[1..]).await?;
    let len = u32::from_be_bytes(len);
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > max {
        return Err(FrameError::TooLong { len, max });
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// Why the messages inside a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Decode(#[from] prost::DecodeError),
    #[error("{0}")]
    Truncated(String),
}

/// Splits a frame body into its delimited messages, one at a time.
#[derive(Debug)]
pub struct Delimited<'a> {
    rest: &'a [u8],
}

impl<'a> Delimited<'a> {
    pub fn new(body: &'a [u8]) -> Self {
        Delimited { rest: body }
    }

    /// The next message's bytes; `None` when the body is exhausted, `Err` when a length prefix is
    /// malformed or points past the end.
    pub fn next_message(&mut self) -> Result<Option<&'a [u8]>, WireError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let mut cursor = self.rest;
        let len = prost::decode_length_delimiter(&mut cursor)?;
        if len > cursor.remaining() {
            return Err(WireError::Truncated("delimited message runs past the frame".into()));
        }
        let (msg, rest) = cursor.split_at(len);
        self.rest = rest;
        Ok(Some(msg))
    }

    /// Bytes not taken as messages yet.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next message decoded as `M`; a missing message is an error.
    pub fn decode<M: Message + Default>(&mut self, what: &str) -> Result<M, WireError> {
        match self.next_message()? {
            Some(b) => Ok(M::decode(b)?),
            None => Err(WireError::Truncated(format!("frame ends before the {what}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hadoop_ipc::proto::EmptyProto;

    #[test]
    fn preamble_is_hrpc_version_9_class_0_then_auth() {
        assert_eq!(preamble(AUTH_NONE), [0x68, 0x72, 0x70, 0x63, 0x09, 0x00, 0x00]);
        assert_eq!(preamble(AUTH_SASL)[6], 0xDF);
    }

    #[test]
    fn preamble_classification() {
        assert_eq!(parse_preamble(&preamble(0)), Preamble::Ok { auth: 0 });
        assert_eq!(parse_preamble(b"GET / H"), Preamble::Http);
        assert_eq!(parse_preamble(b"hrpc\x08\x00\x00"), Preamble::WrongVersion(8));
        assert_eq!(parse_preamble(b"xxxxxxx"), Preamble::BadMagic);
    }

    #[test]
    fn empty_message_is_still_written_as_one_zero_byte() {
        assert_eq!(encode_frame(&[&EmptyProto {}]), vec![0, 0, 0, 1, 0]);
    }

    #[tokio::test]
    async fn oversized_frame_is_refused_before_allocating() {
        let mut input: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        let err = read_frame(&mut input, 1024).await.unwrap_err();
        assert!(matches!(err, FrameError::TooLong { len: u32::MAX, max: 1024 }));
    }

    #[tokio::test]
    async fn truncated_frame_is_an_io_error_and_clean_eof_is_none() {
        let mut input: &[u8] = &[0, 0, 0, 5, 1, 2];
        assert!(matches!(read_frame(&mut input, 1024).await, Err(FrameError::Io(_))));
        let mut empty: &[u8] = &[];
        assert!(read_frame(&mut empty, 1024).await.unwrap().is_none());
    }

    #[test]
    fn delimited_rejects_lengths_past_the_end() {
        let mut d = Delimited::new(&[5, 1, 2]);
        assert!(d.next_message().is_err());
    }
}
