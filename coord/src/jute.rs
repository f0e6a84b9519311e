//! Jute, ZooKeeper's serialization: big-endian ints and longs, one-byte
//! booleans, and length-prefixed buffers, strings and vectors where a length
//! of -1 means null.

use std::fmt;

/// A record could not be decoded: the frame is shorter than its fields say,
/// or a length is negative or larger than what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub &'static str);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed jute record: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

pub type DecodeResult<T> = Result<T, DecodeError>;

/// Reads jute fields from a byte slice.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(DecodeError("record is truncated"));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn int(&mut self) -> DecodeResult<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn long(&mut self) -> DecodeResult<i64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    pub fn bool(&mut self) -> DecodeResult<bool> {
        Ok(self.byte()? != 0)
    }

    pub fn byte(&mut self) -> DecodeResult<u8> {
        Ok(self.take(1)?[0])
    }

    /// A length prefix; -1 (null) reads as `None`.
    fn len(&mut self) -> DecodeResult<Option<usize>> {
        let n = self.int()?;
        if n == -1 {
            return Ok(None);
        }
        if n < 0 || n as usize > self.remaining() {
            return Err(DecodeError("bad length prefix"));
        }
        Ok(Some(n as usize))
    }

    /// A buffer; null reads as empty, as ZooKeeper treats it.
    pub fn buffer(&mut self) -> DecodeResult<Vec<u8>> {
        match self.len()? {
            None => Ok(Vec::new()),
            Some(n) => Ok(self.take(n)?.to_vec()),
        }
    }

    pub fn string(&mut self) -> DecodeResult<String> {
        match self.len()? {
            None => Ok(String::new()),
            Some(n) => String::from_utf8(self.take(n)?.to_vec()).map_err(|_| DecodeError("string is not UTF-8")),
        }
    }

    /// A vector whose elements are read by `item`; null reads as empty.
    pub fn vec<T>(&mut self, mut item: impl FnMut(&mut Self) -> DecodeResult<T>) -> DecodeResult<Vec<T>> {
        let n = self.int()?;
        if n == -1 {
            return Ok(Vec::new());
        }
        // Every element takes at least one byte, which bounds the allocation.
        if n < 0 || n as usize > self.remaining() {
            return Err(DecodeError("bad vector length"));
        }
        (0..n).map(|_| item(self)).collect()
    }

    pub fn strings(&mut self) -> DecodeResult<Vec<String>> {
        self.vec(|r| r.string())
    }
}

/// Writes jute fields into a growing buffer.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer { buf: Vec::with_capacity(64) }
    }

    /// A writer that starts with room for a 4-byte frame length, filled in
    /// by [`Writer::into_frame`].
    pub fn framed() -> Self {
        let mut w = Writer::new();
        w.int(0);
        w
    }

    pub fn into_frame(mut self) -> Vec<u8> {
        let len = (self.buf.len() - 4) as i32;
        self.buf[..4].copy_from_slice(&len.to_be_bytes());
        self.buf
    }

    pub fn int(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn long(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.push(v as u8);
        self
    }

    pub fn buffer(&mut self, v: &[u8]) -> &mut Self {
        self.int(v.len() as i32);
        self.buf.extend_from_slice(v);
        self
    }

    pub fn string(&mut self, v: &str) -> &mut Self {
        self.buffer(v.as_bytes())
    }

    pub fn strings<S: AsRef<str>>(&mut self, v: &[S]) -> &mut Self {
        self.int(v.len() as i32);
        for s in v {
            self.string(s.as_ref());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field_kind() {
        let mut w = Writer::new();
        w.int(-7).long(1 << 40).bool(true).buffer(b"ab").string("zk").strings(&["x", "yz"]);
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.int().unwrap(), -7);
        assert_eq!(r.long().unwrap(), 1 << 40);
        assert!(r.bool().unwrap());
        assert_eq!(r.buffer().unwrap(), b"ab");
        assert_eq!(r.string().unwrap(), "zk");
        assert_eq!(r.strings().unwrap(), vec!["x", "yz"]);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn rejects_lengths_past_the_end() {
        let mut w = Writer::new();
        w.int(1000);
        assert!(Reader::new(&w.buf).buffer().is_err());
        assert!(Reader::new(&w.buf).strings().is_err());
        let mut w = Writer::new();
        w.int(-5);
        assert!(Reader::new(&w.buf).string().is_err());
        assert!(Reader::new(&[0, 0]).int().is_err());
    }

    #[test]
    fn null_reads_as_empty() {
        let mut w = Writer::new();
        w.int(-1).int(-1);
        let mut r = Reader::new(&w.buf);
        assert!(r.buffer().unwrap().is_empty());
        assert!(r.strings().unwrap().is_empty());
    }

    #[test]
    fn frame_length_is_filled_in() {
        let mut w = Writer::framed();
        w.int(5);
        assert_eq!(w.into_frame(), vec![0, 0, 0, 4, 0, 0, 0, 5]);
    }
}
