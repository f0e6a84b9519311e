//! Writing values in RDB encoding and building DUMP payloads.

use super::*;
use crate::types::Value;

/// Appends an RDB length: 1, 2, 5 or 9 bytes (big-endian after the first).
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push((LEN_6BIT << 6) | n as u8);
    } else if n < 1 << 14 {
        out.push((LEN_14BIT << 6) | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(LEN_32BIT);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(LEN_64BIT);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Strings longer than this are LZF-compressed when that saves 4+ bytes.
const COMPRESS_ABOVE: usize = 20;

/// Appends a string as Redis writes it: canonical integers that fit 32
/// bits in the compact integer encoding, long strings LZF-compressed when
/// that pays, the rest plain.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(n) = crate::util::parse_i64_strict(s) {
            if write_small_int(out, n) {
                return;
            }
        }
    }
    if s.len() > COMPRESS_ABOVE {
        if let Some(packed) = lzf::compress(s, s.len() - 4) {
            out.push((LEN_ENCVAL << 6) | ENC_LZF);
            write_len(out, packed.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn write_small_int(out: &mut Vec<u8>, n: i64) -> bool {
    let enc = LEN_ENCVAL << 6;
    if let Ok(v) = i8::try_from(n) {
        out.push(enc | ENC_INT8);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i16::try_from(n) {
        out.push(enc | ENC_INT16);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(n) {
        out.push(enc | ENC_INT32);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        return false;
    }
    true
}

fn write_binary_double(out: &mut Vec<u8>, d: f64) {
    out.extend_from_slice(&d.to_le_bytes());
}

/// The RDB type byte this writer uses for a value.
pub fn type_of(v: &Value) -> u8 {
    match v {
        Value::Int(_) | Value::Embstr(_) | Value::Raw(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST,
        Value::Set(_) => TYPE_SET,
        Value::Hash(_) => TYPE_HASH,
        Value::ZSet(_) => TYPE_ZSET_2,
        Value::Bloom(_) => TYPE_KV_BLOOM,
    }
}

/// Appends the value's RDB body (without the type byte).
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Int(n) => {
            if !write_small_int(out, *n) {
                write_string(out, n.to_string().as_bytes());
            }
        }
        Value::Embstr(s) | Value::Raw(s) => write_string(out, s),
        Value::List(l) => {
            write_len(out, l.len() as u64);
            for e in l.iter() {
                write_string(out, e);
            }
        }
        Value::Set(s) => {
            write_len(out, s.len() as u64);
            for m in s.members() {
                write_string(out, &m);
            }
        }
        Value::Hash(h) => {
            write_len(out, h.map.len() as u64);
            for (f, val) in h.map.iter() {
                write_string(out, f);
                write_string(out, val);
            }
        }
        Value::ZSet(z) => {
            write_len(out, z.len() as u64);
            for (m, score) in z.dict.iter() {
                write_string(out, m);
                write_binary_double(out, *score);
            }
        }
        Value::Bloom(b) => {
            write_binary_double(out, b.error_rate);
            write_len(out, b.expansion as u64);
            write_len(out, b.items);
            write_len(out, b.layers.len() as u64);
            for layer in &b.layers {
                write_len(out, layer.nbits);
                write_len(out, layer.hashes as u64);
                write_len(out, layer.capacity);
                write_len(out, layer.items);
                write_len(out, layer.bits.len() as u64);
                out.extend_from_slice(&layer.bits);
            }
        }
    }
}

/// A DUMP payload: type, body, RDB version and checksum.
pub fn dump_payload(v: &Value) -> Vec<u8> {
    let mut out = vec![type_of(v)];
    write_value(&mut out, v);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_use_the_shortest_form() {
        let mut out = Vec::new();
        write_len(&mut out, 63);
        write_len(&mut out, 64);
        write_len(&mut out, 16384);
        assert_eq!(out, [63, 0x40, 64, 0x80, 0, 0, 0x40, 0]);
    }

    #[test]
    fn integers_are_int_encoded() {
        let mut out = Vec::new();
        write_string(&mut out, b"-5");
        write_string(&mut out, b"300");
        write_string(&mut out, b"007");
        assert_eq!(out, [0xc0, 0xfb, 0xc1, 0x2c, 0x01, 3, b'0', b'0', b'7']);
    }

    #[test]
    fn payload_matches_redis_for_a_small_string() {
        // What redis-server 7.0 replies to SET k hello; DUMP k.
        let expected = b"\x00\x05hello\x0a\x00cr\xdfve4 \x0a";
        assert_eq!(dump_payload(&Value::string(b"hello")), expected.to_vec());
    }
}
