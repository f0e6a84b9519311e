//! Writing listpacks, the compact encoding Redis 7.0 uses for small lists,
//! hashes and sorted sets: 4-byte total size, 2-byte count, entries (each
//! followed by its length, written backwards for reverse walks), 0xFF.

use super::decode::backlen_size;
use crate::util::parse_i64_strict;

const HEADER: usize = 6;
const END: u8 = 0xff;
/// The count field saturates here; readers then walk the entries.
const UNKNOWN_COUNT: usize = u16::MAX as usize;

/// A listpack under construction.
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackWriter {
    pub fn new() -> Self {
        ListpackWriter {
            buf: vec![0; HEADER],
            count: 0,
        }
    }

    pub fn len_bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends an element: canonical integers in the smallest integer
    /// encoding, anything else as a string.
    pub fn push(&mut self, element: &[u8]) {
        let start = self.buf.len();
        match parse_i64_strict(element) {
            Some(n) => self.encode_int(n),
            None => self.encode_str(element),
        }
        let entry_len = self.buf.len() - start;
        self.encode_backlen(entry_len);
        self.count += 1;
    }

    fn encode_int(&mut self, n: i64) {
        let b = &mut self.buf;
        if (0..=127).contains(&n) {
            b.push(n as u8);
        } else if (-4096..=4095).contains(&n) {
            let u = (n as u16) & 0x1fff;
            b.push(0xc0 | (u >> 8) as u8);
            b.push(u as u8);
        } else if let Ok(v) = i16::try_from(n) {
            b.push(0xf1);
            b.extend_from_slice(&v.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&n) {
            b.push(0xf2);
            b.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
        } else if let Ok(v) = i32::try_from(n) {
            b.push(0xf3);
            b.extend_from_slice(&v.to_le_bytes());
        } else {
            b.push(0xf4);
            b.extend_from_slice(&n.to_le_bytes());
        }
    }

    fn encode_str(&mut self, s: &[u8]) {
        let b = &mut self.buf;
        let len = s.len();
        if len < 64 {
            b.push(0x80 | len as u8);
        } else if len < 4096 {
            b.push(0xe0 | (len >> 8) as u8);
            b.push(len as u8);
        } else {
            b.push(0xf0);
            b.extend_from_slice(&(len as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
    }

    /// The entry length in 7-bit groups, most significant first, every
    /// byte but the first with the high bit set.
    fn encode_backlen(&mut self, len: usize) {
        let size = backlen_size(len);
        for i in (0..size).rev() {
            let group = ((len >> (7 * i)) & 0x7f) as u8;
            let last_written_first = i == size - 1;
            self.buf.push(if last_written_first {
                group
            } else {
                group | 0x80
            });
        }
    }

    /// The finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(END);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(UNKNOWN_COUNT) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::decode::listpack_entries;

    #[test]
    fn every_width_round_trips() {
        let mut values: Vec<Vec<u8>> = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -32768,
            32767,
            40000,
            -8388608,
            8388607,
            8388608,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i64::MIN,
            i64::MAX,
        ]
        .iter()
        .map(|n| n.to_string().into_bytes())
        .collect();
        for len in [0, 1, 63, 64, 4095, 4096, 16378, 16379, 20000] {
            values.push(vec![b's'; len]);
        }
        values.push(b"007".to_vec());
        let mut lp = ListpackWriter::new();
        for v in &values {
            lp.push(v);
        }
        let decoded = listpack_entries(&lp.finish()).expect("valid listpack");
        let decoded: Vec<Vec<u8>> = decoded.iter().map(|e| e.to_vec()).collect();
        assert_eq!(decoded, values);
    }

    #[test]
    fn backlen_matches_redis() {
        // As lpEncodeBacklen: 128 = [1, 0x80]; 16383 already takes 3 bytes.
        let mut lp = ListpackWriter::new();
        lp.encode_backlen(128);
        lp.encode_backlen(16383);
        assert_eq!(&lp.buf[HEADER..], &[1, 0x80, 0, 0xff, 0xff]);
    }
}
