//! Reading DUMP payloads and RDB-encoded values. Everything here treats its
//! input as hostile: every length is checked against the bytes really left
//! before anything is allocated or copied, every loop consumes input or
//! stops, and any inconsistency is a [`BadData`] error, never a panic.

use super::ziplist::ziplist_entries;
use super::*;
use crate::types::bloom::{Layer, ScalableBloom};
use crate::types::hash::Hash;
use crate::types::set::Set;
use crate::types::zset::ZSet;
use crate::types::{HashSet, Sds, Thresholds, Value};
use std::collections::VecDeque;

/// The payload is not a value this server can load ("Bad data format").
#[derive(Debug, PartialEq, Eq)]
pub struct BadData;

type Result<T> = std::result::Result<T, BadData>;

/// More hash functions than any real error rate needs (an error rate of
/// 1e-300 takes about 1000); a bound keeps a forged filter's lookups cheap.
const MAX_BLOOM_HASHES: u32 = 2048;

/// Checks a DUMP payload's footer as Redis' verifyDumpPayload does: the
/// RDB version is not newer than ours and the CRC-64 is right. False means
/// Redis' "DUMP payload version or checksum are wrong".
///
/// The value is then read from the whole payload, footer included, as
/// Redis does: a string whose length runs into the footer still loads.
pub fn verify_payload(payload: &[u8]) -> bool {
    if payload.len() < 10 {
        return false;
    }
    let (body_and_version, crc) = payload.split_at(payload.len() - 8);
    let n = body_and_version.len();
    let version = u16::from_le_bytes([body_and_version[n - 2], body_and_version[n - 1]]);
    if version > RDB_VERSION {
        return false;
    }
    let Ok(crc) = <[u8; 8]>::try_from(crc) else {
        return false;
    };
    crc64::crc64(0, body_and_version) == u64::from_le_bytes(crc)
}

/// Decodes a type byte plus value, as written by Redis or by us. Bytes
/// after the value are ignored, as Redis ignores them.
pub fn read_object(body: &[u8], t: &Thresholds) -> Result<Value> {
    let mut r = Reader { buf: body, pos: 0 };
    let kind = r.byte()?;
    r.value(kind, t)
}

enum Len {
    Plain(u64),
    /// A string stored in one of the special encodings (int or LZF).
    Special(u8),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(BadData);
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N as u64)?.try_into().map_err(|_| BadData)
    }

    fn len_or_special(&mut self) -> Result<Len> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            LEN_6BIT => Len::Plain((first & 0x3f) as u64),
            LEN_14BIT => Len::Plain((((first & 0x3f) as u64) << 8) | self.byte()? as u64),
            LEN_ENCVAL => Len::Special(first & 0x3f),
            _ if first == LEN_32BIT => Len::Plain(u32::from_be_bytes(self.array()?) as u64),
            _ if first == LEN_64BIT => Len::Plain(u64::from_be_bytes(self.array()?)),
            _ => return Err(BadData),
        })
    }

    fn len(&mut self) -> Result<u64> {
        match self.len_or_special()? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => Err(BadData),
        }
    }

    /// A length that counts elements still to come: at least one byte
    /// each, so a count beyond the bytes left is a lie.
    fn count(&mut self) -> Result<u64> {
        let n = self.len()?;
        if n == 0 || n > self.remaining() as u64 {
            return Err(BadData);
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<Sds> {
        match self.len_or_special()? {
            Len::Plain(n) => Ok(Sds::from_slice(self.take(n)?)),
            Len::Special(ENC_INT8) => Ok(int_text(i8::from_le_bytes(self.array()?) as i64)),
            Len::Special(ENC_INT16) => Ok(int_text(i16::from_le_bytes(self.array()?) as i64)),
            Len::Special(ENC_INT32) => Ok(int_text(i32::from_le_bytes(self.array()?) as i64)),
            Len::Special(ENC_LZF) => {
                let compressed_len = self.len()?;
                let plain_len = self.len()?;
                let data = self.take(compressed_len)?;
                let plain_len = usize::try_from(plain_len).map_err(|_| BadData)?;
                let plain = lzf::decompress(data, plain_len).map_err(|_| BadData)?;
                Ok(Sds::from_vec(plain))
            }
            Len::Special(_) => Err(BadData),
        }
    }

    fn binary_double(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// The text scores of the old ZSET type: a length byte, with 253/254/255
    /// standing for NaN, +inf and -inf.
    fn text_double(&mut self) -> Result<f64> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.take(n as u64)?;
                crate::util::parse_f64(text).ok_or(BadData)
            }
        }
    }

    fn value(&mut self, kind: u8, t: &Thresholds) -> Result<Value> {
        match kind {
            TYPE_STRING => Ok(Value::string(&self.string()?)),
            TYPE_LIST => {
                let n = self.count()?;
                let mut list = VecDeque::new();
                for _ in 0..n {
                    list.push_back(self.string()?);
                }
                Ok(Value::List(Box::new(list)))
            }
            TYPE_LIST_QUICKLIST_2 => self.quicklist(),
            TYPE_SET => {
                let n = self.count()?;
                let mut members = Vec::new();
                for _ in 0..n {
                    members.push(self.string()?);
                }
                build_set(members, t)
            }
            TYPE_SET_INTSET => {
                let blob = self.string()?;
                build_set(intset_members(&blob)?, t)
            }
            TYPE_HASH => {
                let n = self.count()?;
                let mut pairs = Vec::new();
                for _ in 0..n {
                    let field = self.string()?;
                    pairs.push((field, self.string()?));
                }
                build_hash(pairs, t)
            }
            TYPE_HASH_LISTPACK => {
                let blob = self.string()?;
                build_hash(pairs_of(listpack_entries(&blob)?)?, t)
            }
            TYPE_ZSET | TYPE_ZSET_2 => {
                let n = self.count()?;
                let mut scored = Vec::new();
                for _ in 0..n {
                    let member = self.string()?;
                    let score = if kind == TYPE_ZSET {
                        self.text_double()?
                    } else {
                        self.binary_double()?
                    };
                    scored.push((member, score));
                }
                build_zset(scored, t)
            }
            TYPE_ZSET_LISTPACK => build_zset(scored_pairs(listpack_entries(&self.string()?)?)?, t),
            TYPE_ZSET_ZIPLIST => build_zset(scored_pairs(ziplist_entries(&self.string()?)?)?, t),
            TYPE_HASH_ZIPLIST => build_hash(pairs_of(ziplist_entries(&self.string()?)?)?, t),
            TYPE_LIST_ZIPLIST => build_list(ziplist_entries(&self.string()?)?),
            TYPE_LIST_QUICKLIST => {
                let nodes = self.count()?;
                let mut elements = Vec::new();
                for _ in 0..nodes {
                    elements.extend(ziplist_entries(&self.string()?)?);
                }
                build_list(elements)
            }
            TYPE_KV_BLOOM => self.bloom(),
            _ => Err(BadData),
        }
    }

    /// Quicklist v2: nodes that are either one plain element or a listpack.
    fn quicklist(&mut self) -> Result<Value> {
        const CONTAINER_PLAIN: u64 = 1;
        const CONTAINER_PACKED: u64 = 2;
        let nodes = self.count()?;
        let mut list = VecDeque::new();
        for _ in 0..nodes {
            let container = self.len()?;
            let blob = self.string()?;
            match container {
                CONTAINER_PLAIN => list.push_back(blob),
                CONTAINER_PACKED => list.extend(listpack_entries(&blob)?),
                _ => return Err(BadData),
            }
        }
        if list.is_empty() {
            return Err(BadData);
        }
        Ok(Value::List(Box::new(list)))
    }

    fn bloom(&mut self) -> Result<Value> {
        let error_rate = self.binary_double()?;
        let expansion = u32::try_from(self.len()?).map_err(|_| BadData)?;
        let items = self.len()?;
        let layer_count = self.count()?;
        if !(error_rate > 0.0 && error_rate < 1.0) {
            return Err(BadData);
        }
        let mut layers = Vec::new();
        for _ in 0..layer_count {
            let nbits = self.len()?;
            let hashes = u32::try_from(self.len()?).map_err(|_| BadData)?;
            let capacity = self.len()?;
            let layer_items = self.len()?;
            let byte_len = self.len()?;
            // Bit positions are taken modulo nbits and index these bytes.
            if nbits == 0
                || !(1..=MAX_BLOOM_HASHES).contains(&hashes)
                || byte_len != nbits.div_ceil(8)
            {
                return Err(BadData);
            }
            let bits = self.take(byte_len)?.to_vec();
            layers.push(Layer {
                bits,
                nbits,
                hashes,
                capacity,
                items: layer_items,
            });
        }
        Ok(Value::Bloom(Box::new(ScalableBloom {
            layers,
            error_rate,
            expansion,
            items,
        })))
    }
}

fn int_text(n: i64) -> Sds {
    Sds::from_slice(n.to_string().as_bytes())
}

fn build_set(members: Vec<Sds>, t: &Thresholds) -> Result<Value> {
    let first = members.first().ok_or(BadData)?;
    let mut set = Set::for_member(first, t);
    for m in &members {
        if !set.add(m, t) {
            return Err(BadData); // duplicate member
        }
    }
    Ok(Value::Set(Box::new(set)))
}

fn build_hash(pairs: Vec<(Sds, Sds)>, t: &Thresholds) -> Result<Value> {
    if pairs.is_empty() {
        return Err(BadData);
    }
    let mut hash = Hash::new();
    for (field, value) in &pairs {
        if !hash.set(field, value, t) {
            return Err(BadData); // duplicate field
        }
    }
    Ok(Value::Hash(Box::new(hash)))
}

fn build_zset(scored: Vec<(Sds, f64)>, t: &Thresholds) -> Result<Value> {
    if scored.is_empty() {
        return Err(BadData);
    }
    let mut zset = ZSet::new(0, t);
    for (member, score) in &scored {
        if score.is_nan() || !zset.set(member, *score, t) {
            return Err(BadData); // NaN score or duplicate member
        }
    }
    Ok(Value::ZSet(Box::new(zset)))
}

/// Member/score pairs of a listpack or ziplist sorted set; scores are
/// integers or text.
fn scored_pairs(entries: Vec<Sds>) -> Result<Vec<(Sds, f64)>> {
    let mut scored = Vec::new();
    for (member, score) in pairs_of(entries)? {
        scored.push((member, crate::util::parse_f64(&score).ok_or(BadData)?));
    }
    Ok(scored)
}

fn build_list(elements: Vec<Sds>) -> Result<Value> {
    if elements.is_empty() {
        return Err(BadData);
    }
    Ok(Value::List(Box::new(elements.into_iter().collect())))
}

fn pairs_of(entries: Vec<Sds>) -> Result<Vec<(Sds, Sds)>> {
    if !entries.len().is_multiple_of(2) {
        return Err(BadData);
    }
    let mut it = entries.into_iter();
    let mut pairs = Vec::new();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        pairs.push((a, b));
    }
    Ok(pairs)
}

/// An intset blob: encoding (2, 4 or 8 bytes per integer), count, integers,
/// all little-endian.
fn intset_members(blob: &[u8]) -> Result<Vec<Sds>> {
    let header = blob.get(..8).ok_or(BadData)?;
    let width = u32::from_le_bytes(header[..4].try_into().map_err(|_| BadData)?) as usize;
    let count = u32::from_le_bytes(header[4..].try_into().map_err(|_| BadData)?) as usize;
    if !matches!(width, 2 | 4 | 8) || Some(blob.len()) != count.checked_mul(width).map(|n| n + 8) {
        return Err(BadData);
    }
    let mut seen = HashSet::default();
    let mut members = Vec::with_capacity(count);
    for chunk in blob[8..].chunks_exact(width) {
        let n = match width {
            2 => i16::from_le_bytes([chunk[0], chunk[1]]) as i64,
            4 => i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as i64,
            _ => i64::from_le_bytes(chunk.try_into().map_err(|_| BadData)?),
        };
        if !seen.insert(n) {
            return Err(BadData);
        }
        members.push(int_text(n));
    }
    Ok(members)
}

/// The entries of a listpack: 4-byte total size, 2-byte count, entries
/// (each followed by its back-length), 0xFF. Integers come back as text.
pub fn listpack_entries(lp: &[u8]) -> Result<Vec<Sds>> {
    const HEADER: usize = 6;
    const END: u8 = 0xff;
    const UNKNOWN_COUNT: u16 = u16::MAX;
    if lp.len() < HEADER + 1 || lp[lp.len() - 1] != END {
        return Err(BadData);
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    let declared = u16::from_le_bytes([lp[4], lp[5]]);
    if total != lp.len() {
        return Err(BadData);
    }
    let mut entries = Vec::new();
    let mut pos = HEADER;
    loop {
        let first = *lp.get(pos).ok_or(BadData)?;
        if first == END {
            if pos != lp.len() - 1 {
                return Err(BadData);
            }
            break;
        }
        let (entry, entry_len) = listpack_entry(&lp[pos..])?;
        entries.push(entry);
        pos = pos
            .checked_add(entry_len + backlen_size(entry_len))
            .ok_or(BadData)?;
    }
    if declared != UNKNOWN_COUNT && declared as usize != entries.len() {
        return Err(BadData);
    }
    Ok(entries)
}

/// Bytes taken by the back-length that follows an entry of `len` bytes:
/// 7 bits per byte, with Redis' lpEncodeBacklen boundaries (which move to
/// the next size one short of each power of 128).
pub fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// One listpack entry at the start of `p`: its value and its length
/// (encoding header plus data, without the back-length).
fn listpack_entry(p: &[u8]) -> Result<(Sds, usize)> {
    let at = |i: usize| p.get(i).copied().ok_or(BadData);
    let bytes = |from: usize, n: usize| p.get(from..from + n).ok_or(BadData);
    let signed = |from: usize, n: usize| -> Result<i64> {
        // Little-endian, sign-extended from n bytes.
        let raw = bytes(from, n)?;
        let mut buf = [0u8; 8];
        buf[..n].copy_from_slice(raw);
        let shift = 64 - 8 * n as u32;
        Ok((i64::from_le_bytes(buf) << shift) >> shift)
    };
    let first = at(0)?;
    let string = |header: usize, len: usize| -> Result<(Sds, usize)> {
        Ok((Sds::from_slice(bytes(header, len)?), header + len))
    };
    if first & 0x80 == 0 {
        return Ok((int_text((first & 0x7f) as i64), 1));
    }
    if first & 0xc0 == 0x80 {
        return string(1, (first & 0x3f) as usize);
    }
    if first & 0xe0 == 0xc0 {
        let raw = (((first & 0x1f) as i64) << 8) | at(1)? as i64;
        let n = if raw >= 1 << 12 { raw - (1 << 13) } else { raw };
        return Ok((int_text(n), 2));
    }
    if first & 0xf0 == 0xe0 {
        return string(2, (((first & 0x0f) as usize) << 8) | at(1)? as usize);
    }
    match first {
        0xf0 => {
            let len = u32::from_le_bytes(bytes(1, 4)?.try_into().map_err(|_| BadData)?);
            string(5, len as usize)
        }
        0xf1 => Ok((int_text(signed(1, 2)?), 3)),
        0xf2 => Ok((int_text(signed(1, 3)?), 4)),
        0xf3 => Ok((int_text(signed(1, 4)?), 5)),
        0xf4 => Ok((int_text(signed(1, 8)?), 9)),
        _ => Err(BadData),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::encode::dump_payload;

    fn decode(payload: &[u8]) -> Result<Value> {
        if !verify_payload(payload) {
            return Err(BadData);
        }
        read_object(payload, &Thresholds::default())
    }

    #[test]
    fn reads_redis_payloads() {
        // DUMP of SET k hello, and of RPUSH l a 1 -200 70000 in redis-server 7.0.
        let s = decode(b"\x00\x05hello\x0a\x00cr\xdfve4 \x0a").expect("string");
        assert_eq!(s.string_bytes().as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn listpack_integer_and_string_entries() {
        let mut lp = vec![0, 0, 0, 0, 4, 0];
        lp.extend_from_slice(&[0x85, b'h', b'e', b'l', b'l', b'o', 6]); // "hello"
        lp.extend_from_slice(&[0x07, 1]); // 7
        lp.extend_from_slice(&[0xdf, 0x38, 2]); // 13-bit -200
        lp.extend_from_slice(&[0xf2, 0x70, 0x11, 0x01, 4]); // 24-bit 70000
        lp.push(0xff);
        let total = lp.len() as u32;
        lp[..4].copy_from_slice(&total.to_le_bytes());
        let entries = listpack_entries(&lp).expect("valid listpack");
        let texts: Vec<&[u8]> = entries.iter().map(|e| e.as_slice()).collect();
        assert_eq!(texts, [&b"hello"[..], b"7", b"-200", b"70000"]);
    }

    #[test]
    fn round_trips_every_type() {
        let t = Thresholds::default();
        let mut h = Hash::new();
        h.set(b"f", b"v", &t);
        let mut z = ZSet::new(1, &t);
        z.set(b"m", 1.5, &t);
        z.set(b"n", f64::NEG_INFINITY, &t);
        let mut set = Set::for_member(b"1", &t);
        set.add(b"1", &t);
        set.add(b"-70000", &t);
        let mut bloom = ScalableBloom::new(0.01, 100, 2);
        let _ = bloom.add(b"x");
        let values = [
            Value::string(b"12"),
            Value::string(b"-3000000000"),
            Value::string(&[b'x'; 100]),
            Value::List(Box::new(
                ["a", "1"]
                    .iter()
                    .map(|s| Sds::from_slice(s.as_bytes()))
                    .collect(),
            )),
            Value::Hash(Box::new(h)),
            Value::ZSet(Box::new(z)),
            Value::Set(Box::new(set)),
            Value::Bloom(Box::new(bloom)),
        ];
        for v in &values {
            let back = decode(&dump_payload(v)).expect("decodes");
            assert_eq!(back.type_name(), v.type_name());
            assert_eq!(back.encoding(), v.encoding());
            match (&back, v) {
                // Member order of the score map is arbitrary: compare ranks.
                (Value::ZSet(a), Value::ZSet(b)) => assert_eq!(
                    a.range_by_rank(0, a.len() - 1, false),
                    b.range_by_rank(0, b.len() - 1, false)
                ),
                _ => assert_eq!(dump_payload(&back), dump_payload(v)),
            }
        }
    }

    /// A ziplist of "f", 5, "g", 7.5 as Redis 6.2 wrote small hashes and
    /// sorted sets.
    fn ziplist_of_two_pairs() -> Vec<u8> {
        let mut zl = vec![0; 10];
        zl.extend_from_slice(b"\x00\x01f\x03\xf6\x02\x01g\x03\x037.5");
        zl.push(0xff);
        let total = zl.len() as u32;
        zl[..4].copy_from_slice(&total.to_le_bytes());
        zl[4] = 18; // offset of the last entry
        zl[8] = 4;
        zl
    }

    #[test]
    fn reads_ziplist_types_of_older_versions() {
        let t = Thresholds::default();
        let zl = ziplist_of_two_pairs();
        for kind in [TYPE_HASH_ZIPLIST, TYPE_ZSET_ZIPLIST, TYPE_LIST_ZIPLIST] {
            let mut body = vec![kind];
            crate::rdb::encode::write_string(&mut body, &zl);
            let v = read_object(&body, &t).expect("ziplist value");
            assert_eq!(
                v.encoding(),
                if kind == TYPE_LIST_ZIPLIST {
                    "quicklist"
                } else {
                    "listpack"
                }
            );
            assert_eq!(
                v.element_count(),
                if kind == TYPE_LIST_ZIPLIST { 4 } else { 2 }
            );
        }
        let mut quicklist = vec![TYPE_LIST_QUICKLIST, 2];
        crate::rdb::encode::write_string(&mut quicklist, &zl);
        crate::rdb::encode::write_string(&mut quicklist, &zl);
        let v = read_object(&quicklist, &t).expect("quicklist of ziplists");
        assert_eq!(v.element_count(), 8);
    }

    #[test]
    fn bad_footers_are_refused() {
        let mut p = dump_payload(&Value::string(b"hello"));
        assert!(verify_payload(&p));
        let last = p.len() - 1;
        p[last] ^= 1;
        assert!(!verify_payload(&p));
        assert!(!verify_payload(b"short"));
    }

    /// Random, truncated and bit-flipped payloads (with a fixed-up footer so
    /// that they reach the decoder) never panic and never allocate wildly.
    #[test]
    fn fuzzed_payloads_never_panic() {
        let t = Thresholds::default();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut lp = vec![0, 0, 0, 0, 2, 0, 0x81, b'a', 2, 0x01, 1, 0xff];
        let lp_len = lp.len() as u32;
        lp[..4].copy_from_slice(&lp_len.to_le_bytes());
        let mut hash_lp = vec![TYPE_HASH_LISTPACK];
        crate::rdb::encode::write_string(&mut hash_lp, &lp);
        let mut seeds: Vec<Vec<u8>> = vec![hash_lp];
        // Payloads made by redis-server 7.0: a quicklist of a listpack with
        // every integer width (LZF-compressed), an intset, a listpack zset,
        // an LZF string.
        seeds.push(b"\x12\x01\x02\xc3\x27@g\x13g\x00\x00\x00\x06\x00\x81a\x02\x01\x01\xdf8\x02\xf2p\x11\x01\x04\xf4 \x12\x01\x00\x02 \x03\x03\x09\xe0Fx\xe0<\x00\x01H\xff".to_vec());
        seeds.push(b"\x0b\x14\x04\x00\x00\x00\x03\x00\x00\x00\x90\xee\xfe\xff\x01\x00\x00\x00\x03\x00\x00\x00".to_vec());
        seeds.push(b"\x11\x22\x22\x00\x00\x00\x08\x00\x81d\x02\xdf\xfd\x02\x81a\x02\x01\x01\x81b\x02\x832.5\x04\x81c\x02\x83inf\x04\xff".to_vec());
        seeds.push(b"\x00\xc3\x0c@x\x04abcda\xe0h\x03\x01cd".to_vec());
        for kind in [TYPE_ZSET_ZIPLIST, TYPE_LIST_QUICKLIST] {
            let mut body = vec![kind];
            if kind == TYPE_LIST_QUICKLIST {
                body.push(1);
            }
            crate::rdb::encode::write_string(&mut body, &ziplist_of_two_pairs());
            seeds.push(body);
        }
        for seed in &seeds[1..] {
            assert!(
                read_object(seed, &t).is_ok(),
                "seed decodes before mutation"
            );
        }
        let mut z = ZSet::new(1, &t);
        z.set(b"member", 2.0, &t);
        for v in [
            Value::string(&[b'q'; 70]),
            Value::List(Box::new(
                (0..50)
                    .map(|i| Sds::from_slice(format!("{i}").as_bytes()))
                    .collect(),
            )),
            Value::ZSet(Box::new(z)),
            Value::Bloom(Box::new(ScalableBloom::new(0.01, 10, 2))),
        ] {
            let p = dump_payload(&v);
            seeds.push(p[..p.len() - 10].to_vec());
        }
        for round in 0..20_000 {
            let base = &seeds[round % seeds.len()];
            let mut body = base.clone();
            match rand() % 4 {
                0 => body.truncate((rand() as usize) % (base.len() + 1)),
                1 => {
                    for _ in 0..1 + rand() % 4 {
                        if !body.is_empty() {
                            let i = (rand() as usize) % body.len();
                            body[i] = rand() as u8;
                        }
                    }
                }
                2 => body = (0..rand() % 64).map(|_| rand() as u8).collect(),
                _ => {
                    let i = (rand() as usize) % (body.len() + 1);
                    body.insert(i, 0x81);
                }
            }
            let _ = read_object(&body, &t);
        }
    }
}
