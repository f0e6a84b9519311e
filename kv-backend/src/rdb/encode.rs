//! Writing values in RDB encoding and building DUMP payloads.

use super::listpack::ListpackWriter;
use super::*;
use crate::types::set::Set;
use crate::types::{Sds, Value};
use std::collections::VecDeque;

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

/// The RDB type byte this writer uses for a value: the one Redis 7.0
/// uses for the same encoding.
pub fn type_of(v: &Value) -> u8 {
    match v {
        Value::Int(_) | Value::Embstr(_) | Value::Raw(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST_QUICKLIST_2,
        Value::Set(s) if matches!(**s, Set::Intset(_)) => TYPE_SET_INTSET,
        Value::Set(_) => TYPE_SET,
        Value::Hash(h) if h.listpack => TYPE_HASH_LISTPACK,
        Value::Hash(_) => TYPE_HASH,
        Value::ZSet(z) if z.listpack => TYPE_ZSET_LISTPACK,
        Value::ZSet(_) => TYPE_ZSET_2,
        Value::Bloom(_) => TYPE_KV_BLOOM,
    }
}

/// Redis' default list-max-listpack-size (-2): 8 KB per quicklist node.
const QUICKLIST_NODE_BYTES: usize = 8192;
const QUICKLIST_CONTAINER_PACKED: u64 = 2;

fn write_quicklist(out: &mut Vec<u8>, list: &VecDeque<Sds>) {
    let mut nodes = Vec::new();
    let mut node = ListpackWriter::new();
    for element in list {
        if !node.is_empty() && node.len_bytes() + element.len() + 11 > QUICKLIST_NODE_BYTES {
            nodes.push(std::mem::take(&mut node).finish());
        }
        node.push(element);
    }
    if !node.is_empty() {
        nodes.push(node.finish());
    }
    write_len(out, nodes.len() as u64);
    for lp in &nodes {
        write_len(out, QUICKLIST_CONTAINER_PACKED);
        write_string(out, lp);
    }
}

/// Intset: 2, 4 or 8 bytes per integer (the widest needed), sorted.
fn write_intset(out: &mut Vec<u8>, sorted: &[i64]) {
    let width: usize = if sorted.iter().all(|&n| i16::try_from(n).is_ok()) {
        2
    } else if sorted.iter().all(|&n| i32::try_from(n).is_ok()) {
        4
    } else {
        8
    };
    let mut blob = Vec::with_capacity(8 + width * sorted.len());
    blob.extend_from_slice(&(width as u32).to_le_bytes());
    blob.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for n in sorted {
        blob.extend_from_slice(&n.to_le_bytes()[..width]);
    }
    write_string(out, &blob);
}

/// A score as listpack text: integers as integers, like Redis' d2string,
/// otherwise the shortest text that reads back as the same double.
fn score_text(score: f64) -> String {
    const EXACT_INT_LIMIT: f64 = 4_503_599_627_370_496.0; // 2^52
    if score == 0.0 && score.is_sign_negative() {
        "-0".to_string()
    } else if score.is_infinite() {
        if score > 0.0 { "inf" } else { "-inf" }.to_string()
    } else if score.abs() < EXACT_INT_LIMIT && score.fract() == 0.0 {
        format!("{}", score as i64)
    } else {
        format!("{score:e}")
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
        Value::List(l) => write_quicklist(out, l),
        Value::Set(s) => match s.as_ref() {
            Set::Intset(sorted) => write_intset(out, sorted),
            Set::Table(members) => {
                write_len(out, members.len() as u64);
                for m in members {
                    write_string(out, m);
                }
            }
        },
        Value::Hash(h) if h.listpack => {
            let mut lp = ListpackWriter::new();
            for (f, val) in h.map.iter() {
                lp.push(f);
                lp.push(val);
            }
            write_string(out, &lp.finish());
        }
        Value::Hash(h) => {
            write_len(out, h.map.len() as u64);
            for (f, val) in h.map.iter() {
                write_string(out, f);
                write_string(out, val);
            }
        }
        Value::ZSet(z) if z.listpack => {
            // Listpack sorted sets are in (score, member) order.
            let mut lp = ListpackWriter::new();
            if !z.is_empty() {
                for (member, score) in z.range_by_rank(0, z.len() - 1, false) {
                    lp.push(&member);
                    lp.push(score_text(score).as_bytes());
                }
            }
            write_string(out, &lp.finish());
        }
        Value::ZSet(z) => {
            write_len(out, z.len() as u64);
            for (m, score) in (0..z.len()).filter_map(|i| z.list.at_position(i)) {
                write_string(out, m);
                write_binary_double(out, score);
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
    fn scores_read_back_exactly() {
        for score in [
            0.0,
            -0.0,
            1.0,
            -3.0,
            2.5,
            0.1,
            1e300,
            -1e-300,
            4.5e15,
            f64::INFINITY,
        ] {
            let text = score_text(score);
            let back = crate::util::parse_f64(text.as_bytes()).expect("parses");
            assert_eq!(back.to_bits(), score.to_bits(), "{text}");
        }
        assert_eq!(score_text(-3.0), "-3");
        assert_eq!(score_text(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn payload_matches_redis_for_a_small_string() {
        // What redis-server 7.0 replies to SET k hello; DUMP k.
        let expected = b"\x00\x05hello\x0a\x00cr\xdfve4 \x0a";
        assert_eq!(dump_payload(&Value::string(b"hello")), expected.to_vec());
    }
}
