//! Request framing: RESP multibulk and the inline (telnet) protocol, with
//! Redis' limits and protocol error wording.

use crate::util::{parse_i64_strict, split_args};
use bytes::{Bytes, BytesMut};

/// Longest inline request, or multibulk/bulk header line, Redis accepts.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;

/// What the parser needs to know about the client and the server limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub proto_max_bulk_len: i64,
    pub authenticated: bool,
}

/// A protocol violation: the server replies `-ERR Protocol error: ...` and
/// closes the connection, as Redis does.
#[derive(Debug, PartialEq)]
pub struct ProtocolError(pub String);

/// The outcome of one parse attempt.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A complete command and its arguments.
    Command(Vec<Bytes>),
    /// Input consumed that holds no command (an empty line, `*0`).
    Nothing,
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    memchr(b'\r', &buf[from..]).map(|i| i + from)
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

fn proto_err(msg: &str) -> ProtocolError {
    ProtocolError(format!("ERR Protocol error: {msg}"))
}

/// Tries to take one request from the front of `buf`. `Ok(None)` means more
/// bytes are needed.
pub fn parse_request(buf: &mut BytesMut, limits: Limits) -> Result<Option<Parsed>, ProtocolError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] == b'*' {
        parse_multibulk(buf, limits)
    } else {
        parse_inline(buf)
    }
}

fn parse_inline(buf: &mut BytesMut) -> Result<Option<Parsed>, ProtocolError> {
    let Some(nl) = memchr(b'\n', buf) else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(proto_err("too big inline request"));
        }
        return Ok(None);
    };
    let line_end = if nl > 0 && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let args = split_args(&buf[..line_end]);
    let _ = buf.split_to(nl + 1);
    match args {
        None => Err(proto_err("unbalanced quotes in request")),
        Some(a) if a.is_empty() => Ok(Some(Parsed::Nothing)),
        Some(a) => Ok(Some(Parsed::Command(
            a.into_iter().map(Bytes::from).collect(),
        ))),
    }
}

fn parse_multibulk(buf: &mut BytesMut, limits: Limits) -> Result<Option<Parsed>, ProtocolError> {
    let Some(cr) = find_crlf(buf, 0) else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(proto_err("too big mbulk count string"));
        }
        return Ok(None);
    };
    if cr + 1 >= buf.len() {
        return Ok(None);
    }
    let count = match parse_i64_strict(&buf[1..cr]) {
        Some(n) if n <= i32::MAX as i64 => n,
        _ => return Err(proto_err("invalid multibulk length")),
    };
    if !limits.authenticated && count > 10 {
        return Err(proto_err("unauthenticated multibulk length"));
    }
    let mut pos = cr + 2;
    if count <= 0 {
        let _ = buf.split_to(pos);
        return Ok(Some(Parsed::Nothing));
    }
    // Argument spans, kept on the stack for the usual short commands.
    let mut spans: smallvec::SmallVec<[(usize, usize); 8]> = smallvec::SmallVec::new();
    for _ in 0..count {
        if pos >= buf.len() {
            return Ok(None);
        }
        let Some(cr) = find_crlf(buf, pos) else {
            if buf.len() - pos > PROTO_INLINE_MAX_SIZE {
                return Err(proto_err("too big bulk count string"));
            }
            return Ok(None);
        };
        if buf[pos] != b'$' {
            return Err(proto_err(&format!(
                "expected '$', got '{}'",
                buf[pos] as char
            )));
        }
        let len = match parse_i64_strict(&buf[pos + 1..cr]) {
            Some(n) if n >= 0 && n <= limits.proto_max_bulk_len => n as usize,
            _ => return Err(proto_err("invalid bulk length")),
        };
        if !limits.authenticated && len > 16384 {
            return Err(proto_err("unauthenticated bulk length"));
        }
        let start = cr + 2;
        let end = start + len;
        if end + 2 > buf.len() {
            // Make room once for a big argument instead of growing step by step.
            if end + 2 > buf.capacity() {
                buf.reserve(end + 2 - buf.len());
            }
            return Ok(None);
        }
        spans.push((start, end));
        pos = end + 2;
    }
    let frame = buf.split_to(pos).freeze();
    Ok(Some(Parsed::Command(
        spans.into_iter().map(|(s, e)| frame.slice(s..e)).collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        proto_max_bulk_len: 512 * 1024 * 1024,
        authenticated: true,
    };

    fn cmd(p: Option<Parsed>) -> Vec<Vec<u8>> {
        match p {
            Some(Parsed::Command(v)) => v.into_iter().map(|b| b.to_vec()).collect(),
            other => panic!("expected a command, got {other:?}"),
        }
    }

    #[test]
    fn multibulk_pipeline_and_partial() {
        let mut b = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPI"[..]);
        assert_eq!(
            cmd(parse_request(&mut b, L).unwrap()),
            vec![b"GET".to_vec(), b"k".to_vec()]
        );
        assert_eq!(parse_request(&mut b, L).unwrap(), None);
        b.extend_from_slice(b"NG\r\n");
        assert_eq!(
            cmd(parse_request(&mut b, L).unwrap()),
            vec![b"PING".to_vec()]
        );
        assert!(b.is_empty());
    }

    #[test]
    fn inline_commands() {
        let mut b = BytesMut::from(&b"set k2 www\r\n\r\nkeys *\n"[..]);
        assert_eq!(cmd(parse_request(&mut b, L).unwrap()).len(), 3);
        assert_eq!(parse_request(&mut b, L).unwrap(), Some(Parsed::Nothing));
        assert_eq!(
            cmd(parse_request(&mut b, L).unwrap()),
            vec![b"keys".to_vec(), b"*".to_vec()]
        );
    }

    #[test]
    fn protocol_errors_have_redis_wording() {
        let mut b = BytesMut::from(&b"*x\r\n"[..]);
        assert_eq!(
            parse_request(&mut b, L).unwrap_err().0,
            "ERR Protocol error: invalid multibulk length"
        );
        let mut b = BytesMut::from(&b"*1\r\n+x\r\n"[..]);
        assert_eq!(
            parse_request(&mut b, L).unwrap_err().0,
            "ERR Protocol error: expected '$', got '+'"
        );
        let small = Limits {
            proto_max_bulk_len: 10,
            authenticated: true,
        };
        let mut b = BytesMut::from(&b"*1\r\n$11\r\n"[..]);
        assert_eq!(
            parse_request(&mut b, small).unwrap_err().0,
            "ERR Protocol error: invalid bulk length"
        );
        let mut b = BytesMut::from(&b"set k \"v\r\n"[..]);
        assert_eq!(
            parse_request(&mut b, L).unwrap_err().0,
            "ERR Protocol error: unbalanced quotes in request"
        );
        let mut b = BytesMut::from(vec![b'a'; PROTO_INLINE_MAX_SIZE + 1].as_slice());
        assert_eq!(
            parse_request(&mut b, L).unwrap_err().0,
            "ERR Protocol error: too big inline request"
        );
    }
}
