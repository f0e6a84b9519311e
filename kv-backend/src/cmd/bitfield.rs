//! BITFIELD and BITFIELD_RO: integers of 1 to 64 bits at arbitrary bit
//! offsets of a string, MSB first like SETBIT.
//!
//! Every argument is parsed before anything runs, so an error anywhere in the
//! command leaves the key untouched. Writes grow the string once, up to the
//! farthest bit any SET/INCRBY reaches, then run in order.

use super::{eq_ic, err, int_arg, wrongtype, CmdError, CmdResult, Ctx, SYNTAX};
use crate::db::{Access, Entry, Store};
use crate::types::{Sds, Value};
use bytes::Bytes;

const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";

/// What happens when a SET or INCRBY result does not fit the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    /// The operation is skipped and replies nil.
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// An integer field: `i1`..`i64` or `u1`..`u63`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FieldType {
    signed: bool,
    bits: u32,
}

impl FieldType {
    /// Redis reads the type as a C string, so anything after a NUL byte is
    /// ignored.
    fn parse(arg: &[u8]) -> Result<FieldType, CmdError> {
        let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
        let signed = match arg.first() {
            Some(b'i') => true,
            Some(b'u') => false,
            _ => return Err(err(BAD_TYPE)),
        };
        let max_bits = if signed { 64 } else { 63 };
        match int_arg(&arg[1..]) {
            Ok(bits @ 1..) if bits <= max_bits => Ok(FieldType {
                signed,
                bits: bits as u32,
            }),
            _ => Err(err(BAD_TYPE)),
        }
    }

    fn min(self) -> i128 {
        if self.signed {
            -(1i128 << (self.bits - 1))
        } else {
            0
        }
    }

    fn max(self) -> i128 {
        if self.signed {
            (1i128 << (self.bits - 1)) - 1
        } else {
            (1i128 << self.bits) - 1
        }
    }

    /// The field's value for its raw bits (sign-extended if signed).
    fn decode(self, raw: u64) -> i64 {
        if self.signed && self.bits < 64 {
            let shift = 64 - self.bits;
            ((raw << shift) as i64) >> shift
        } else {
            raw as i64
        }
    }

    /// Reduces `v` modulo 2^bits into the field's range (two's complement).
    fn wrap(self, v: i128) -> i64 {
        let low = if self.bits == 64 {
            v as u64
        } else {
            (v as u64) & ((1u64 << self.bits) - 1)
        };
        self.decode(low)
    }

    /// Fits `v` into the field under `overflow`; None when FAIL refuses it.
    fn fit(self, v: i128, overflow: Overflow) -> Option<i64> {
        let (min, max) = (self.min(), self.max());
        if (min..=max).contains(&v) {
            return Some(v as i64);
        }
        match overflow {
            Overflow::Wrap => Some(self.wrap(v)),
            Overflow::Sat if v > max => Some(max as i64),
            Overflow::Sat => Some(min as i64),
            Overflow::Fail => None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct FieldOp {
    kind: OpKind,
    field: FieldType,
    offset: u64,
    overflow: Overflow,
}

/// A bit offset, or `#N` meaning N fields of this type; the byte it falls in
/// must be below proto-max-bulk-len.
fn field_offset(ctx: &Ctx, arg: &[u8], bits: u32) -> Result<u64, CmdError> {
    let (by_field, digits) = match arg.strip_prefix(b"#") {
        Some(rest) => (true, rest),
        None => (false, arg),
    };
    let mut n = int_arg(digits).map_err(|_| err(BAD_OFFSET))?;
    if by_field {
        // Redis multiplies in C without an overflow check; wrapping keeps
        // its (two's complement) result.
        n = n.wrapping_mul(bits as i64);
    }
    if n < 0 || (n >> 3) >= ctx.store.config.proto_max_bulk_len {
        return Err(err(BAD_OFFSET));
    }
    Ok(n as u64)
}

/// Parses the subcommands after the key, in Redis' order of checks.
fn parse_ops(ctx: &Ctx, args: &[Bytes]) -> Result<Vec<FieldOp>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 0;
    while i < args.len() {
        let sub = &args[i];
        let remaining = args.len() - i - 1;
        let takes_value = if eq_ic(sub, "GET") && remaining >= 2 {
            false
        } else if (eq_ic(sub, "SET") || eq_ic(sub, "INCRBY")) && remaining >= 3 {
            true
        } else if eq_ic(sub, "OVERFLOW") && remaining >= 1 {
            let mode = &args[i + 1];
            overflow = if eq_ic(mode, "WRAP") {
                Overflow::Wrap
            } else if eq_ic(mode, "SAT") {
                Overflow::Sat
            } else if eq_ic(mode, "FAIL") {
                Overflow::Fail
            } else {
                return Err(err("ERR Invalid OVERFLOW type specified"));
            };
            i += 2;
            continue;
        } else {
            return Err(err(SYNTAX));
        };
        let field = FieldType::parse(&args[i + 1])?;
        let offset = field_offset(ctx, &args[i + 2], field.bits)?;
        let kind = if !takes_value {
            OpKind::Get
        } else {
            let v = int_arg(&args[i + 3])?;
            if eq_ic(sub, "SET") {
                OpKind::Set(v)
            } else {
                OpKind::IncrBy(v)
            }
        };
        ops.push(FieldOp {
            kind,
            field,
            offset,
            overflow,
        });
        i += if takes_value { 4 } else { 3 };
    }
    Ok(ops)
}

/// Reads `bits` bits at bit `offset`, MSB first; bits past the end are 0.
fn read_bits(buf: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for pos in offset..offset + bits as u64 {
        let bit = buf
            .get((pos / 8) as usize)
            .is_some_and(|byte| byte & (0x80 >> (pos % 8)) != 0);
        v = (v << 1) | bit as u64;
    }
    v
}

/// Writes the low `bits` bits of `value` at bit `offset`, MSB first. The
/// buffer has already been grown to hold them.
fn write_bits(buf: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        let pos = offset + j as u64;
        let mask = 0x80u8 >> (pos % 8);
        let byte = &mut buf[(pos / 8) as usize];
        if value >> (bits - 1 - j) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// The outcome of one SET or INCRBY: the reply, and what to store.
struct Written {
    reply: i64,
    old: i64,
    new: i64,
}

/// Computes a SET/INCRBY against the field's current value; None when
/// OVERFLOW FAIL refuses it.
fn compute_write(op: &FieldOp, old: i64) -> Option<Written> {
    let f = op.field;
    match op.kind {
        OpKind::Set(v) => {
            // An unsigned field takes the value's 64-bit pattern: a negative
            // value counts as a huge positive one (it overflows upward).
            let wanted = if f.signed {
                v as i128
            } else {
                v as u64 as i128
            };
            // Redis tests for upward overflow first, with `max - v` in 64
            // bits; for a signed field narrower than 64 bits and a v so far
            // below the minimum that this wraps, it saturates at the MAXIMUM.
            let wraps_high = f.signed && f.bits < 64 && (f.max() as i64).checked_sub(v).is_none();
            let new = if wraps_high && op.overflow == Overflow::Sat {
                f.max() as i64
            } else {
                f.fit(wanted, op.overflow)?
            };
            Some(Written {
                reply: old,
                old,
                new,
            })
        }
        OpKind::IncrBy(d) => {
            let new = f.fit(old as i128 + d as i128, op.overflow)?;
            Some(Written {
                reply: new,
                old,
                new,
            })
        }
        OpKind::Get => None,
    }
}

pub fn bitfield(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, argv, false)
}

pub fn bitfield_ro(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, argv, true)
}

fn bitfield_generic(ctx: &mut Ctx, argv: &[Bytes], read_only_cmd: bool) -> CmdResult {
    let ops = parse_ops(ctx, &argv[2..])?;
    let key = &argv[1];
    let highest_write_bit = ops
        .iter()
        .filter(|op| op.kind != OpKind::Get)
        .map(|op| op.offset + op.field.bits as u64 - 1)
        .max();
    let Some(highest_write_bit) = highest_write_bit else {
        return reply_reads(ctx, key, &ops);
    };
    if read_only_cmd {
        return Err(err("ERR BITFIELD_RO only supports the GET subcommand"));
    }
    let (db, now) = (ctx.client.db, ctx.now);
    let (buf, grown) = string_for_write(ctx.store, db, now, key, highest_write_bit / 8 + 1)?;
    ctx.out.array(ops.len());
    let mut changes = 0u64;
    for op in &ops {
        let old = op.field.decode(read_bits(buf, op.offset, op.field.bits));
        if op.kind == OpKind::Get {
            ctx.out.int(old);
            continue;
        }
        match compute_write(op, old) {
            Some(w) => {
                ctx.out.int(w.reply);
                write_bits(buf, op.offset, op.field.bits, w.new as u64);
                if grown || w.old != w.new {
                    changes += 1;
                }
            }
            None => ctx.out.null(),
        }
    }
    // As in Redis, a write counts as a change if it altered bits or the
    // string was created or padded; refused (FAIL) writes never count, so a
    // BITFIELD whose writes were all refused modifies nothing, even if it
    // created or padded the key.
    if changes > 0 {
        ctx.modified(key);
        ctx.store.stats.dirty += changes - 1;
    }
    Ok(())
}

/// Only GETs: a read lookup, and a missing key reads as zeros.
fn reply_reads(ctx: &mut Ctx, key: &[u8], ops: &[FieldOp]) -> CmdResult {
    let (db, now) = (ctx.client.db, ctx.now);
    // Borrow the value in place (an int value is rendered as its digits).
    let value = match ctx.store.lookup(db, key, now, Access::Read) {
        None => None,
        Some(e) => Some(e.val.string_bytes().ok_or_else(wrongtype)?),
    };
    let buf = value.as_deref().unwrap_or_default();
    ctx.out.array(ops.len());
    for op in ops {
        let raw = read_bits(buf, op.offset, op.field.bits);
        ctx.out.int(op.field.decode(raw));
    }
    Ok(())
}

/// Offsets are only bounded by proto-max-bulk-len, which can be configured
/// far beyond what the machine can hold. Redis aborts on such an allocation;
/// we refuse the command instead.
fn no_memory() -> CmdError {
    err("ERR Insufficient memory to grow the string for BITFIELD")
}

/// The key's string as a raw buffer of at least `min_len` bytes, created or
/// zero-padded as needed (without signalling: the caller does, if the ops
/// change anything). True if it was created or grown.
fn string_for_write<'s>(
    store: &'s mut Store,
    db: usize,
    now: i64,
    key: &[u8],
    min_len: u64,
) -> Result<(&'s mut Sds, bool), CmdError> {
    let min_len = usize::try_from(min_len).map_err(|_| err(BAD_OFFSET))?;
    if store.lookup(db, key, now, Access::Write).is_none() {
        let mut zeros = Sds::new();
        zeros.try_reserve_exact(min_len).map_err(|_| no_memory())?;
        zeros.resize(min_len, 0);
        let lru = store.fresh_lru(now);
        let val = Value::Raw(zeros);
        store.dbs[db].insert(Sds::from_slice(key), Entry { val, lru });
        let e = store.dbs[db].keys.get_mut(key).expect("just inserted");
        let Value::Raw(buf) = &mut e.val else {
            unreachable!("inserted as raw")
        };
        return Ok((buf, true));
    }
    let e = store.dbs[db].keys.get_mut(key).expect("looked up");
    // An int or embstr value becomes raw when written to, as in Redis.
    let bytes = match &e.val {
        Value::Raw(_) => None,
        other => Some(other.string_bytes().ok_or_else(wrongtype)?.into_owned()),
    };
    if let Some(b) = bytes {
        e.val = Value::Raw(Sds::from_vec(b));
    }
    let Value::Raw(buf) = &mut e.val else {
        unreachable!("converted to raw")
    };
    let grown = buf.len() < min_len;
    if grown {
        buf.try_reserve_exact(min_len - buf.len())
            .map_err(|_| no_memory())?;
        buf.resize(min_len, 0);
    }
    Ok((buf, grown))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;
    use super::*;

    fn t(signed: bool, bits: u32) -> FieldType {
        FieldType { signed, bits }
    }

    #[test]
    fn types_parse_as_redis() {
        assert_eq!(FieldType::parse(b"i64"), Ok(t(true, 64)));
        assert_eq!(FieldType::parse(b"u63"), Ok(t(false, 63)));
        assert_eq!(FieldType::parse(b"u8\0junk"), Ok(t(false, 8)));
        for bad in [
            &b"u64"[..],
            b"i65",
            b"i0",
            b"u",
            b"x8",
            b"",
            b"i08",
            b"I8",
            b"u-1",
        ] {
            assert!(FieldType::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn overflow_modes_at_the_edges() {
        let i8t = t(true, 8);
        assert_eq!(i8t.fit(128, Overflow::Wrap), Some(-128));
        assert_eq!(i8t.fit(-129, Overflow::Wrap), Some(127));
        assert_eq!(i8t.fit(300, Overflow::Sat), Some(127));
        assert_eq!(i8t.fit(-300, Overflow::Sat), Some(-128));
        assert_eq!(i8t.fit(128, Overflow::Fail), None);
        let i64t = t(true, 64);
        assert_eq!(
            i64t.fit(i64::MAX as i128 + 1, Overflow::Wrap),
            Some(i64::MIN)
        );
        assert_eq!(
            i64t.fit(i64::MIN as i128 - 1, Overflow::Sat),
            Some(i64::MIN)
        );
        let u63 = t(false, 63);
        assert_eq!(u63.fit(1i128 << 63, Overflow::Wrap), Some(0));
        assert_eq!(u63.fit(-1, Overflow::Sat), Some(0));
        assert_eq!(u63.fit(-1, Overflow::Wrap), Some(i64::MAX));
        let u1 = t(false, 1);
        assert_eq!(u1.fit(2, Overflow::Wrap), Some(0));
        assert_eq!(t(true, 1).fit(1, Overflow::Wrap), Some(-1));
    }

    #[test]
    fn unsigned_set_of_a_negative_overflows_upward() {
        let op = FieldOp {
            kind: OpKind::Set(-1),
            field: t(false, 8),
            offset: 0,
            overflow: Overflow::Sat,
        };
        assert_eq!(compute_write(&op, 0).map(|w| w.new), Some(255));
    }

    #[test]
    fn signed_set_far_below_the_minimum_saturates_high_as_redis() {
        let set = |v: i64, bits: u32, overflow: Overflow| {
            let op = FieldOp {
                kind: OpKind::Set(v),
                field: t(true, bits),
                offset: 0,
                overflow,
            };
            compute_write(&op, 0).map(|w| w.new)
        };
        assert_eq!(set(i64::MIN, 15, Overflow::Sat), Some(16383));
        // 16383 - v first fits in 64 bits at v = i64::MIN + 16384.
        assert_eq!(set(i64::MIN + 16384, 15, Overflow::Sat), Some(-16384));
        assert_eq!(set(i64::MIN + 16383, 15, Overflow::Sat), Some(16383));
        assert_eq!(set(i64::MIN, 15, Overflow::Wrap), Some(0));
        assert_eq!(set(i64::MIN, 15, Overflow::Fail), None);
        assert_eq!(set(i64::MIN, 64, Overflow::Sat), Some(i64::MIN));
    }

    #[test]
    fn bits_round_trip_across_bytes() {
        let mut buf = [0u8; 3];
        write_bits(&mut buf, 7, 5, 23);
        assert_eq!(buf, [0b0000_0001, 0b0111_0000, 0]);
        assert_eq!(read_bits(&buf, 7, 5), 23);
        assert_eq!(read_bits(&buf, 20, 8), 0);
        assert_eq!(t(true, 5).decode(0b10111), -9);
    }

    #[test]
    fn dirty_counts_each_changing_write() {
        let mut h = Harness::new();
        h.run("SET k x");
        let before = h.store.stats.dirty;
        // Two changes, one write of the same value, one refused.
        h.run("BITFIELD k SET u8 0 1 SET u8 0 2 SET u8 0 2 OVERFLOW FAIL SET u8 0 999");
        assert_eq!(h.store.stats.dirty - before, 2);
        h.run("BITFIELD k OVERFLOW FAIL SET u8 64 999");
        assert_eq!(h.store.stats.dirty - before, 2);
        assert_eq!(h.run("STRLEN k"), ":9\r\n");
    }

    #[test]
    fn impossible_growth_is_refused_not_fatal() {
        let mut h = Harness::new();
        h.run("CONFIG SET proto-max-bulk-len 9223372036854775807");
        let huge = "BITFIELD k SET u8 9223372036854775000 1";
        assert!(h.run(huge).starts_with("-ERR Insufficient memory"));
        assert_eq!(h.run("EXISTS k"), ":0\r\n");
        h.run("SET k v");
        assert!(h.run(huge).starts_with("-ERR Insufficient memory"));
        assert_eq!(h.run("GET k"), "$1\r\nv\r\n");
    }

    #[test]
    fn commands_end_to_end() {
        let mut h = Harness::new();
        assert_eq!(h.run("BITFIELD k GET u8 0"), "*1\r\n:0\r\n");
        assert_eq!(h.run("EXISTS k"), ":0\r\n");
        assert_eq!(
            h.run("BITFIELD k SET u8 #1 200 INCRBY u8 #1 100 GET i8 8"),
            "*3\r\n:0\r\n:44\r\n:44\r\n"
        );
        assert_eq!(h.run("GET k"), "$2\r\n\0,\r\n");
        assert_eq!(
            h.run("BITFIELD k OVERFLOW FAIL INCRBY u8 8 300"),
            "*1\r\n$-1\r\n"
        );
        assert_eq!(
            h.run("BITFIELD_RO k GET u8 8 SET u8 0 1"),
            "-ERR BITFIELD_RO only supports the GET subcommand\r\n"
        );
        assert_eq!(h.run("OBJECT ENCODING k"), "$3\r\nraw\r\n");
    }
}
