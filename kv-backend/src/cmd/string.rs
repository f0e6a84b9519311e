//! String commands: SET family, GET family, counters, ranges.

use super::{eq_ic, err, int_arg, CmdError, CmdResult, Ctx, NOT_FLOAT, NOT_INT, SYNTAX};
use crate::db::Access;
use crate::types::{sds, Value, EMBSTR_MAX};
use crate::util::{clamp_range, incr_float, parse_f64, parse_i64_strict};
use bytes::Bytes;

/// Reads a string value as bytes; WRONGTYPE for other types.
pub fn read_string(ctx: &mut Ctx, key: &[u8], access: Access) -> Result<Option<Vec<u8>>, CmdError> {
    match ctx.lookup(key, access) {
        None => Ok(None),
        Some(e) => match e.val.string_bytes() {
            Some(b) => Ok(Some(b.into_owned())),
            None => Err(super::wrongtype()),
        },
    }
}

/// Writes a GET-style reply for `key` straight from the keyspace.
fn reply_get(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let db = ctx.client.db;
    match ctx.store.lookup(db, key, ctx.now, Access::Read) {
        None => ctx.out.null(),
        Some(e) => match &e.val {
            Value::Int(n) => ctx.out.bulk_int(*n),
            Value::Embstr(s) | Value::Raw(s) => ctx.out.bulk(s),
            _ => return Err(super::wrongtype()),
        },
    }
    Ok(())
}

pub fn get(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    reply_get(ctx, &argv[1])
}

/// An expiry option as given: which unit, and the raw argument.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExpireUnit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpireUnit {
    pub fn parse(opt: &[u8]) -> Option<ExpireUnit> {
        [
            ("EX", ExpireUnit::Ex),
            ("PX", ExpireUnit::Px),
            ("EXAT", ExpireUnit::ExAt),
            ("PXAT", ExpireUnit::PxAt),
        ]
        .into_iter()
        .find(|(n, _)| eq_ic(opt, n))
        .map(|(_, u)| u)
    }

    /// The absolute time in ms; errors use Redis' wording for `cmd`.
    pub fn deadline(self, arg: &[u8], now: i64, cmd: &str) -> Result<i64, CmdError> {
        let v = int_arg(arg)?;
        let invalid = || err(format!("ERR invalid expire time in '{cmd}' command"));
        if v <= 0 {
            return Err(invalid());
        }
        let ms = match self {
            ExpireUnit::Ex | ExpireUnit::ExAt => v.checked_mul(1000).ok_or_else(invalid)?,
            ExpireUnit::Px | ExpireUnit::PxAt => v,
        };
        match self {
            ExpireUnit::Ex | ExpireUnit::Px => ms.checked_add(now).ok_or_else(invalid),
            _ => Ok(ms),
        }
    }
}

#[derive(Default)]
struct SetOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    expire_at: Option<i64>,
}

fn parse_set_options(
    ctx: &Ctx,
    args: &[Bytes],
    cmd: &str,
    allow_get: bool,
) -> Result<SetOptions, CmdError> {
    let mut o = SetOptions::default();
    let mut seen_expire = false;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "NX") && !o.xx {
            o.nx = true;
        } else if eq_ic(a, "XX") && !o.nx {
            o.xx = true;
        } else if eq_ic(a, "GET") && allow_get {
            o.get = true;
        } else if eq_ic(a, "KEEPTTL") && !seen_expire {
            o.keep_ttl = true;
            seen_expire = true;
        } else if let Some(unit) =
            ExpireUnit::parse(a).filter(|_| !seen_expire && i + 1 < args.len())
        {
            seen_expire = true;
            i += 1;
            o.expire_at = Some(unit.deadline(&args[i], ctx.now, cmd)?);
        } else {
            return Err(err(SYNTAX));
        }
        i += 1;
    }
    Ok(o)
}

pub fn set(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let o = parse_set_options(ctx, &argv[3..], "set", true)?;
    let key = &argv[1];
    let old = if o.get {
        Some(read_string(ctx, key, Access::Read)?)
    } else {
        None
    };
    let exists = ctx.store.exists(ctx.client.db, key, ctx.now);
    let allowed = !(o.nx && exists || o.xx && !exists);
    if allowed {
        set_value(ctx, key, Value::string(&argv[2]), o.keep_ttl, o.expire_at);
    }
    match old {
        Some(Some(v)) => ctx.out.bulk(&v),
        Some(None) => ctx.out.null(),
        None if allowed => ctx.out.ok(),
        None => ctx.out.null(),
    }
    Ok(())
}

fn set_value(ctx: &mut Ctx, key: &[u8], v: Value, keep_ttl: bool, expire_at: Option<i64>) {
    let db = ctx.client.db;
    ctx.store
        .set(db, key, v, keep_ttl || expire_at.is_some(), ctx.now);
    match expire_at {
        Some(when) => ctx.store.set_expire(db, key, when),
        None if !keep_ttl => {
            ctx.store.persist(db, key);
        }
        None => {}
    }
}

pub fn setnx(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let exists = ctx.store.exists(ctx.client.db, &argv[1], ctx.now);
    if !exists {
        set_value(ctx, &argv[1], Value::string(&argv[2]), false, None);
    }
    ctx.out.int(!exists as i64);
    Ok(())
}

fn setex_generic(ctx: &mut Ctx, argv: &[Bytes], unit: ExpireUnit, cmd: &str) -> CmdResult {
    let when = unit.deadline(&argv[2], ctx.now, cmd)?;
    set_value(ctx, &argv[1], Value::string(&argv[3]), false, Some(when));
    ctx.out.ok();
    Ok(())
}

pub fn setex(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    setex_generic(ctx, argv, ExpireUnit::Ex, "setex")
}

pub fn psetex(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    setex_generic(ctx, argv, ExpireUnit::Px, "psetex")
}

pub fn getex(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let mut expire_at = None;
    let mut persist = false;
    let mut i = 2;
    while i < argv.len() {
        if eq_ic(&argv[i], "PERSIST") && expire_at.is_none() && !persist {
            persist = true;
        } else if let Some(unit) = ExpireUnit::parse(&argv[i])
            .filter(|_| expire_at.is_none() && !persist && i + 1 < argv.len())
        {
            i += 1;
            expire_at = Some(unit.deadline(&argv[i], ctx.now, "getex")?);
        } else {
            return Err(err(SYNTAX));
        }
        i += 1;
    }
    let key = &argv[1];
    let Some(v) = read_string(ctx, key, Access::Read)? else {
        ctx.out.null();
        return Ok(());
    };
    let db = ctx.client.db;
    if let Some(when) = expire_at {
        if when <= ctx.now {
            ctx.store.delete(db, key, ctx.now);
        } else {
            ctx.store.set_expire(db, key, when);
            ctx.modified(key);
        }
    } else if persist && ctx.store.persist(db, key) {
        ctx.modified(key);
    }
    ctx.out.bulk(&v);
    Ok(())
}

pub fn getdel(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    match read_string(ctx, &argv[1], Access::Read)? {
        Some(v) => {
            ctx.store.delete(ctx.client.db, &argv[1], ctx.now);
            ctx.out.bulk(&v);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn getset(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let old = read_string(ctx, &argv[1], Access::Read)?;
    set_value(ctx, &argv[1], Value::string(&argv[2]), false, None);
    match old {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn check_pairs(argv: &[Bytes], cmd: &str) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(err(format!(
            "ERR wrong number of arguments for '{cmd}' command"
        )));
    }
    Ok(())
}

pub fn mset(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    check_pairs(argv, "mset")?;
    for kv in argv[1..].chunks(2) {
        set_value(ctx, &kv[0], Value::string(&kv[1]), false, None);
    }
    ctx.out.ok();
    Ok(())
}

pub fn msetnx(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    check_pairs(argv, "msetnx")?;
    let db = ctx.client.db;
    let any = argv[1..]
        .chunks(2)
        .any(|kv| ctx.store.exists(db, &kv[0], ctx.now));
    if !any {
        for kv in argv[1..].chunks(2) {
            set_value(ctx, &kv[0], Value::string(&kv[1]), false, None);
        }
    }
    ctx.out.int(!any as i64);
    Ok(())
}

pub fn mget(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    ctx.out.array(argv.len() - 1);
    let db = ctx.client.db;
    for key in &argv[1..] {
        match ctx
            .store
            .lookup(db, key, ctx.now, Access::Read)
            .map(|e| &e.val)
        {
            Some(Value::Int(n)) => ctx.out.bulk_int(*n),
            Some(Value::Embstr(s) | Value::Raw(s)) => ctx.out.bulk(s),
            _ => ctx.out.null(),
        }
    }
    Ok(())
}

/// Checks a resulting string length against proto-max-bulk-len.
pub fn check_string_length(ctx: &Ctx, len: u64) -> CmdResult {
    if len > ctx.store.config.proto_max_bulk_len as u64 {
        return Err(err(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

/// Replaces a string value keeping its TTL (APPEND, SETRANGE, INCR...).
pub fn overwrite(ctx: &mut Ctx, key: &[u8], v: Value) {
    let db = ctx.client.db;
    ctx.store.set(db, key, v, true, ctx.now);
}

pub fn append(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let old = read_string(ctx, &argv[1], Access::Write)?;
    let mut v = old.unwrap_or_default();
    check_string_length(ctx, (v.len() + argv[2].len()) as u64)?;
    v.extend_from_slice(&argv[2]);
    let len = v.len();
    overwrite(ctx, &argv[1], Value::Raw(v.into()));
    ctx.out.int(len as i64);
    Ok(())
}

pub fn strlen(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let n = match ctx.lookup(&argv[1], Access::Read).map(|e| &e.val) {
        None => 0,
        Some(Value::Int(n)) => n.to_string().len(),
        Some(Value::Embstr(s) | Value::Raw(s)) => s.len(),
        Some(_) => return Err(super::wrongtype()),
    };
    ctx.out.int(n as i64);
    Ok(())
}

pub fn getrange(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let start = int_arg(&argv[2])?;
    let end = int_arg(&argv[3])?;
    let v = read_string(ctx, &argv[1], Access::Read)?.unwrap_or_default();
    if start < 0 && end < 0 && start > end {
        ctx.out.bulk(b"");
        return Ok(());
    }
    match clamp_range(start, end, v.len() as i64) {
        Some((s, e)) => ctx.out.bulk(&v[s..=e]),
        None => ctx.out.bulk(b""),
    }
    Ok(())
}

pub fn setrange(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let offset = int_arg(&argv[2])?;
    if offset < 0 {
        return Err(err("ERR offset is out of range"));
    }
    let value = &argv[3];
    let old = read_string(ctx, &argv[1], Access::Write)?;
    if value.is_empty() {
        ctx.out.int(old.map_or(0, |v| v.len()) as i64);
        return Ok(());
    }
    check_string_length(ctx, offset as u64 + value.len() as u64)?;
    let mut v = old.unwrap_or_default();
    let end = offset as usize + value.len();
    if v.len() < end {
        v.resize(end, 0);
    }
    v[offset as usize..end].copy_from_slice(value);
    let len = v.len();
    overwrite(ctx, &argv[1], Value::Raw(v.into()));
    ctx.out.int(len as i64);
    Ok(())
}

fn incr_by(ctx: &mut Ctx, key: &[u8], delta: i64) -> CmdResult {
    // Fast path: an int-encoded value is updated in place (TTL untouched).
    if let Some(Value::Int(n)) = ctx.lookup(key, Access::Write).map(|e| &mut e.val) {
        let new = n
            .checked_add(delta)
            .ok_or_else(|| err("ERR increment or decrement would overflow"))?;
        *n = new;
        ctx.modified(key);
        ctx.out.int(new);
        return Ok(());
    }
    let cur = match ctx.lookup(key, Access::Write).map(|e| &e.val) {
        None => 0,
        Some(Value::Int(n)) => *n,
        Some(Value::Embstr(s) | Value::Raw(s)) => {
            parse_i64_strict(s).ok_or_else(|| err(NOT_INT))?
        }
        Some(_) => return Err(super::wrongtype()),
    };
    let new = cur
        .checked_add(delta)
        .ok_or_else(|| err("ERR increment or decrement would overflow"))?;
    overwrite(ctx, key, Value::Int(new));
    ctx.out.int(new);
    Ok(())
}

pub fn incr(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    incr_by(ctx, &argv[1], 1)
}

pub fn decr(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    incr_by(ctx, &argv[1], -1)
}

pub fn incrby(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let d = int_arg(&argv[2])?;
    incr_by(ctx, &argv[1], d)
}

pub fn decrby(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let d = int_arg(&argv[2])?;
    let d = d
        .checked_neg()
        .ok_or_else(|| err("ERR decrement would overflow"))?;
    incr_by(ctx, &argv[1], d)
}

pub fn incrbyfloat(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    parse_f64(&argv[2]).ok_or_else(|| err(NOT_FLOAT))?;
    let cur = read_string(ctx, &argv[1], Access::Write)?.unwrap_or_else(|| b"0".to_vec());
    parse_f64(&cur).ok_or_else(|| err(NOT_FLOAT))?;
    let s = incr_float(&cur, &argv[2])
        .ok_or_else(|| err("ERR increment would produce NaN or Infinity"))?;
    let v = if s.len() <= EMBSTR_MAX {
        Value::Embstr(sds(s.as_bytes()))
    } else {
        Value::Raw(sds(s.as_bytes()))
    };
    overwrite(ctx, &argv[1], v);
    ctx.out.bulk(s.as_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;

    #[test]
    fn set_options_and_ttl() {
        let mut h = Harness::new();
        assert_eq!(h.run("SET k v EX 10"), "+OK\r\n");
        assert_eq!(h.run("TTL k"), ":10\r\n");
        assert_eq!(h.run("SET k w KEEPTTL GET"), "$1\r\nv\r\n");
        assert_eq!(h.run("TTL k"), ":10\r\n");
        assert_eq!(h.run("SET k x"), "+OK\r\n");
        assert_eq!(h.run("TTL k"), ":-1\r\n");
        assert_eq!(h.run("SET k y NX"), "$-1\r\n");
        assert_eq!(h.run("SET k y NX XX"), "-ERR syntax error\r\n");
        assert_eq!(
            h.run("SET k y EX 0"),
            "-ERR invalid expire time in 'set' command\r\n"
        );
    }

    #[test]
    fn counters_and_encodings() {
        let mut h = Harness::new();
        assert_eq!(h.run("INCRBY n 5"), ":5\r\n");
        assert_eq!(h.run("OBJECT ENCODING n"), "$3\r\nint\r\n");
        assert_eq!(h.run("APPEND n 0"), ":2\r\n");
        assert_eq!(h.run("OBJECT ENCODING n"), "$3\r\nraw\r\n");
        assert_eq!(h.run("INCR n"), ":51\r\n");
        assert_eq!(h.run("INCRBYFLOAT n 0.5"), "$4\r\n51.5\r\n");
        assert_eq!(
            h.run("INCR n"),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(h.run("SET big 9223372036854775807"), "+OK\r\n");
        assert_eq!(
            h.run("INCR big"),
            "-ERR increment or decrement would overflow\r\n"
        );
    }

    #[test]
    fn msetnx_is_all_or_nothing() {
        let mut h = Harness::new();
        assert_eq!(h.run("SET b x"), "+OK\r\n");
        assert_eq!(h.run("MSETNX a 1 b 2"), ":0\r\n");
        assert_eq!(h.run("EXISTS a"), ":0\r\n");
        assert_eq!(h.run("MSETNX a 1 c 2"), ":1\r\n");
        assert_eq!(
            h.run("MGET a c b z"),
            "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nx\r\n$-1\r\n"
        );
    }

    #[test]
    fn ranges_are_binary_safe() {
        let mut h = Harness::new();
        assert_eq!(h.run("SETRANGE k 3 ab"), ":5\r\n");
        assert_eq!(h.run("GET k"), "$5\r\n\0\0\0ab\r\n");
        assert_eq!(h.run("GETRANGE k -2 -1"), "$2\r\nab\r\n");
        assert_eq!(h.run("STRLEN k"), ":5\r\n");
    }
}
