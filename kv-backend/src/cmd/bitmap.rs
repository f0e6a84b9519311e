//! Bitmap commands over strings. Bit offsets are MSB first: bit 0 is the
//! highest bit of byte 0, as Redis does it.

use super::string::{overwrite, read_string};
use super::{eq_ic, err, int_arg, CmdError, CmdResult, Ctx, SYNTAX};
use crate::db::Access;
use crate::types::Value;
use bytes::Bytes;

/// A bit offset; the byte it falls in must fit in proto-max-bulk-len.
fn bit_offset(ctx: &Ctx, arg: &[u8]) -> Result<u64, CmdError> {
    let bad = || err("ERR bit offset is not an integer or out of range");
    let n = int_arg(arg).map_err(|_| bad())?;
    if n < 0 || (n >> 3) >= ctx.store.config.proto_max_bulk_len {
        return Err(bad());
    }
    Ok(n as u64)
}

pub fn setbit(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let off = bit_offset(ctx, &argv[2])?;
    let on = match argv[3].as_ref() {
        b"1" => true,
        b"0" => false,
        _ => return Err(err("ERR bit is not an integer or out of range")),
    };
    let mut v = read_string(ctx, &argv[1], Access::Write)?.unwrap_or_default();
    let byte = (off / 8) as usize;
    if v.len() <= byte {
        v.resize(byte + 1, 0);
    }
    let mask = 1u8 << (7 - (off % 8));
    let old = v[byte] & mask != 0;
    if on {
        v[byte] |= mask;
    } else {
        v[byte] &= !mask;
    }
    overwrite(ctx, &argv[1], Value::Raw(v.into()));
    ctx.out.int(old as i64);
    Ok(())
}

pub fn getbit(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let off = bit_offset(ctx, &argv[2])?;
    let v = read_string(ctx, &argv[1], Access::Read)?.unwrap_or_default();
    let byte = (off / 8) as usize;
    let bit = v.get(byte).is_some_and(|b| b & (1 << (7 - (off % 8))) != 0);
    ctx.out.int(bit as i64);
    Ok(())
}

/// Resolves an optional [start end [BYTE|BIT]] range to an inclusive bit
/// range over a string of `len` bytes. None = empty.
fn bit_range(
    args: &[Bytes],
    len: usize,
    end_given: &mut bool,
) -> Result<Option<(u64, u64)>, CmdError> {
    let total_bits = len as i64 * 8;
    if args.is_empty() {
        return Ok(if len == 0 {
            None
        } else {
            Some((0, total_bits as u64 - 1))
        });
    }
    let mut start = int_arg(&args[0])?;
    let mut end = match args.get(1) {
        Some(e) => {
            *end_given = true;
            int_arg(e)?
        }
        None => i64::MAX / 16,
    };
    let bits_unit = match args.get(2) {
        None => false,
        Some(u) if eq_ic(u, "BIT") && args.len() == 3 => true,
        Some(u) if eq_ic(u, "BYTE") && args.len() == 3 => false,
        Some(_) => return Err(err(SYNTAX)),
    };
    let unit_len = if bits_unit { total_bits } else { len as i64 };
    if !*end_given {
        end = unit_len - 1;
    }
    if start < 0 {
        start += unit_len;
    }
    if end < 0 {
        end += unit_len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= unit_len {
        end = unit_len - 1;
    }
    if start > end || unit_len == 0 {
        return Ok(None);
    }
    Ok(Some(if bits_unit {
        (start as u64, end as u64)
    } else {
        (start as u64 * 8, end as u64 * 8 + 7)
    }))
}

fn bit_at(v: &[u8], i: u64) -> bool {
    v[(i / 8) as usize] & (1 << (7 - (i % 8))) != 0
}

pub fn bitcount(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if argv.len() == 3 || argv.len() > 5 {
        return Err(err(SYNTAX));
    }
    let v = read_string(ctx, &argv[1], Access::Read)?.unwrap_or_default();
    let mut end_given = false;
    let n = match bit_range(&argv[2..], v.len(), &mut end_given)? {
        None => 0,
        Some((a, b)) => {
            // Whole bytes with popcount, edges bit by bit.
            let mut n = 0u64;
            let mut i = a;
            while i <= b {
                if i % 8 == 0 && i + 7 <= b {
                    n += v[(i / 8) as usize].count_ones() as u64;
                    i += 8;
                } else {
                    n += bit_at(&v, i) as u64;
                    i += 1;
                }
            }
            n
        }
    };
    ctx.out.int(n as i64);
    Ok(())
}

pub fn bitpos(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 6 {
        return Err(err(SYNTAX));
    }
    let want = match argv[2].as_ref() {
        b"1" => true,
        b"0" => false,
        _ => return Err(err("ERR The bit argument must be 1 or 0.")),
    };
    let Some(v) = read_string(ctx, &argv[1], Access::Read)? else {
        ctx.out.int(if want { -1 } else { 0 });
        return Ok(());
    };
    let mut end_given = false;
    let pos = match bit_range(&argv[3..], v.len(), &mut end_given)? {
        None => -1,
        Some((a, b)) => match (a..=b).find(|&i| bit_at(&v, i) == want) {
            Some(i) => i as i64,
            // Looking for a 0 past the end of the string counts as found,
            // unless the caller gave an explicit end.
            None if !want && !end_given => b as i64 + 1,
            None => -1,
        },
    };
    ctx.out.int(pos);
    Ok(())
}

pub fn bitop(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let op = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    if !matches!(op.as_str(), "and" | "or" | "xor" | "not") {
        return Err(err(SYNTAX));
    }
    if op == "not" && argv.len() != 4 {
        return Err(err(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let mut srcs = Vec::new();
    for k in &argv[3..] {
        srcs.push(read_string(ctx, k, Access::Read)?.unwrap_or_default());
    }
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut res = vec![0u8; maxlen];
    for (i, out) in res.iter_mut().enumerate() {
        let byte = |s: &Vec<u8>| s.get(i).copied().unwrap_or(0);
        *out = match op.as_str() {
            "not" => !byte(&srcs[0]),
            "and" => srcs.iter().map(byte).fold(0xFF, |a, b| a & b),
            "or" => srcs.iter().map(byte).fold(0, |a, b| a | b),
            _ => srcs.iter().map(byte).fold(0, |a, b| a ^ b),
        };
    }
    let db = ctx.client.db;
    if res.is_empty() {
        ctx.store.delete(db, &argv[2], ctx.now);
    } else {
        ctx.store.set(
            db,
            &argv[2],
            Value::Raw(res.as_slice().into()),
            false,
            ctx.now,
        );
    }
    ctx.out.int(maxlen as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;

    #[test]
    fn bits_are_msb_first() {
        let mut h = Harness::new();
        assert_eq!(h.run("SETBIT k 1 1"), ":0\r\n");
        assert_eq!(h.run("GET k"), "$1\r\n@\r\n");
        h.run("SETBIT k 7 1");
        h.run("SETBIT k 9 1");
        assert_eq!(h.run("GET k"), "$2\r\nA@\r\n");
        assert_eq!(h.run("BITPOS k 1 0 0"), ":1\r\n");
        assert_eq!(h.run("BITPOS k 1 1 1"), ":9\r\n");
        assert_eq!(h.run("BITCOUNT k"), ":3\r\n");
        assert_eq!(h.run("BITCOUNT k 1 1"), ":1\r\n");
    }

    #[test]
    fn bitop_and_or() {
        let mut h = Harness::new();
        h.run("SET a A");
        h.run("SET b B");
        assert_eq!(h.run("BITOP AND r a b"), ":1\r\n");
        assert_eq!(h.run("GET r"), "$1\r\n@\r\n");
        assert_eq!(h.run("BITOP OR r a b"), ":1\r\n");
        assert_eq!(h.run("GET r"), "$1\r\nC\r\n");
    }
}
