//! Hash commands.

use super::generic::{parse_scan, reply_scan, scan_window};
use super::{eq_ic, err, int_arg, is_hash, CmdResult, Ctx};
use crate::db::Access;
use crate::types::hash::Hash;
use crate::types::{Sds, Value};
use crate::util::{glob_match, incr_float, parse_f64, parse_i64_strict, rand_below};
use bytes::Bytes;

fn hash_for_write<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<&'a mut Hash, super::CmdError> {
    match ctx.ensure(key, is_hash, || Value::Hash(Box::new(Hash::new())))? {
        Value::Hash(h) => Ok(h),
        _ => unreachable!("type checked"),
    }
}

fn hset_generic(ctx: &mut Ctx, argv: &[Bytes], cmd: &str) -> Result<usize, super::CmdError> {
    if !argv.len().is_multiple_of(2) {
        return Err(err(format!(
            "ERR wrong number of arguments for '{cmd}' command"
        )));
    }
    let t = ctx.store.config.thresholds;
    let h = hash_for_write(ctx, &argv[1])?;
    let added = argv[2..]
        .chunks(2)
        .filter(|fv| h.set(&fv[0], &fv[1], &t))
        .count();
    ctx.modified(&argv[1]);
    Ok(added)
}

pub fn hset(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let n = hset_generic(ctx, argv, "hset")?;
    ctx.out.int(n as i64);
    Ok(())
}

pub fn hmset(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    hset_generic(ctx, argv, "hmset")?;
    ctx.out.ok();
    Ok(())
}

pub fn hsetnx(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let t = ctx.store.config.thresholds;
    let h = hash_for_write(ctx, &argv[1])?;
    let set = !h.map.contains_key(argv[2].as_ref());
    if set {
        h.set(&argv[2], &argv[3], &t);
        ctx.modified(&argv[1]);
    }
    ctx.out.int(set as i64);
    Ok(())
}

pub fn hget(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let db = ctx.client.db;
    match ctx
        .store
        .lookup(db, &argv[1], ctx.now, Access::Read)
        .map(|e| &e.val)
    {
        None => ctx.out.null(),
        Some(Value::Hash(h)) => match h.map.get(argv[2].as_ref()) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        },
        Some(_) => return Err(super::wrongtype()),
    }
    Ok(())
}

pub fn hmget(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let vals: Vec<Option<Sds>> = match ctx.get_hash(&argv[1], Access::Read)? {
        None => vec![None; argv.len() - 2],
        Some(h) => argv[2..]
            .iter()
            .map(|f| h.map.get(f.as_ref()).cloned())
            .collect(),
    };
    ctx.out.array(vals.len());
    for v in vals {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

pub fn hdel(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    super::remove_members(ctx, argv, Ctx::get_hash, |h: &mut Box<Hash>, f| h.remove(f))
}

pub fn hlen(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    super::reply_len(ctx, &argv[1], is_hash)
}

pub fn hstrlen(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let n = ctx
        .get_hash(&argv[1], Access::Read)?
        .and_then(|h| h.map.get(argv[2].as_ref()).map(|v| v.len()))
        .unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

pub fn hexists(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let e = ctx
        .get_hash(&argv[1], Access::Read)?
        .is_some_and(|h| h.map.contains_key(argv[2].as_ref()));
    ctx.out.int(e as i64);
    Ok(())
}

#[derive(Clone, Copy)]
enum Part {
    Keys,
    Vals,
    All,
}

fn hgetall_generic(ctx: &mut Ctx, argv: &[Bytes], part: Part) -> CmdResult {
    let db = ctx.client.db;
    let h = match ctx
        .store
        .lookup(db, &argv[1], ctx.now, Access::Read)
        .map(|e| &e.val)
    {
        None => None,
        Some(Value::Hash(h)) => Some(h),
        Some(_) => return Err(super::wrongtype()),
    };
    let out = &mut *ctx.out;
    let len = h.map_or(0, |h| h.map.len());
    match part {
        Part::All => out.map(len),
        _ => out.array(len),
    }
    if let Some(h) = h {
        for (f, v) in &h.map {
            match part {
                Part::Keys => out.bulk(f),
                Part::Vals => out.bulk(v),
                Part::All => {
                    out.bulk(f);
                    out.bulk(v);
                }
            }
        }
    }
    Ok(())
}

pub fn hkeys(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    hgetall_generic(ctx, argv, Part::Keys)
}
pub fn hvals(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    hgetall_generic(ctx, argv, Part::Vals)
}
pub fn hgetall(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    hgetall_generic(ctx, argv, Part::All)
}

pub fn hincrby(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let delta = int_arg(&argv[3])?;
    let t = ctx.store.config.thresholds;
    let h = hash_for_write(ctx, &argv[1])?;
    let cur = match h.map.get(argv[2].as_ref()) {
        Some(v) => parse_i64_strict(v).ok_or_else(|| err("ERR hash value is not an integer"))?,
        None => 0,
    };
    let new = cur
        .checked_add(delta)
        .ok_or_else(|| err("ERR increment or decrement would overflow"))?;
    h.set(&argv[2], new.to_string().as_bytes(), &t);
    ctx.modified(&argv[1]);
    ctx.out.int(new);
    Ok(())
}

pub fn hincrbyfloat(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    parse_f64(&argv[3]).ok_or_else(|| err(super::NOT_FLOAT))?;
    // Redis rejects an infinite increment (in long double) before touching the key.
    if incr_float(b"0", &argv[3]).is_none() {
        return Err(err("ERR value is NaN or Infinity"));
    }
    let t = ctx.store.config.thresholds;
    let h = hash_for_write(ctx, &argv[1])?;
    let cur = h
        .map
        .get(argv[2].as_ref())
        .map_or_else(|| b"0".to_vec(), |v| v.to_vec());
    parse_f64(&cur).ok_or_else(|| err("ERR hash value is not a float"))?;
    let s = incr_float(&cur, &argv[3])
        .ok_or_else(|| err("ERR increment would produce NaN or Infinity"))?;
    h.set(&argv[2], s.as_bytes(), &t);
    ctx.modified(&argv[1]);
    ctx.out.bulk(s.as_bytes());
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]].
pub fn hrandfield(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let count = match argv.get(2) {
        Some(c) => Some(int_arg(c)?),
        None => None,
    };
    let withvalues = match argv.get(3) {
        Some(a) if eq_ic(a, "WITHVALUES") && argv.len() == 4 => true,
        Some(_) => return Err(err(super::SYNTAX)),
        None => false,
    };
    let resp3 = ctx.client.resp3;
    let picks: Option<Vec<(Sds, Sds)>> = ctx.get_hash(&argv[1], Access::Read)?.map(|h| {
        let len = h.map.len();
        let pick = |i: usize| {
            let (f, v) = h.map.get_index(i).expect("in range");
            (f.clone(), v.clone())
        };
        match count {
            None => vec![pick(rand_below(len))],
            Some(c) if c < 0 => (0..c.unsigned_abs().min(100_000_000))
                .map(|_| pick(rand_below(len)))
                .collect(),
            Some(c) => distinct_indexes(len, c as usize)
                .into_iter()
                .map(pick)
                .collect(),
        }
    });
    let out = &mut *ctx.out;
    match (picks, count) {
        (None, None) => out.null(),
        (None, Some(_)) => out.array(0),
        (Some(p), None) => out.bulk(&p[0].0),
        (Some(p), Some(_)) => {
            if withvalues && resp3 {
                out.array(p.len());
                for (f, v) in &p {
                    out.array(2);
                    out.bulk(f);
                    out.bulk(v);
                }
            } else {
                out.array(if withvalues { p.len() * 2 } else { p.len() });
                for (f, v) in &p {
                    out.bulk(f);
                    if withvalues {
                        out.bulk(v);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Up to `want` distinct random indexes below `len`.
pub fn distinct_indexes(len: usize, want: usize) -> Vec<usize> {
    if want >= len {
        return (0..len).collect();
    }
    let mut all: Vec<usize> = (0..len).collect();
    for i in 0..want {
        let j = i + rand_below(len - i);
        all.swap(i, j);
    }
    all.truncate(want);
    all
}

pub fn hscan(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let o = parse_scan(argv, 2, false)?;
    let mut items = Vec::new();
    let mut next = 0;
    if let Some(h) = ctx.get_hash(&argv[1], Access::Read)? {
        let len = h.map.len();
        // Small (listpack) hashes are returned whole, as Redis does.
        let (window, after) = scan_window(&o, len, h.listpack);
        for i in window {
            let (f, v) = h.map.get_index(i).expect("in range");
            if o.pattern.as_ref().is_none_or(|p| glob_match(p, f, false)) {
                items.push(f.clone());
                items.push(v.clone());
            }
        }
        next = after;
    }
    reply_scan(ctx, next, &items);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;

    #[test]
    fn fields_and_counters() {
        let mut h = Harness::new();
        assert_eq!(h.run("HSET h a 1 b 2"), ":2\r\n");
        assert_eq!(
            h.run("HGETALL h"),
            "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        assert_eq!(h.run("HINCRBYFLOAT h a 17.5"), "$4\r\n18.5\r\n");
        assert_eq!(
            h.run("HINCRBY h a 1"),
            "-ERR hash value is not an integer\r\n"
        );
        assert_eq!(h.run("HDEL h a b"), ":2\r\n");
        assert_eq!(h.run("TYPE h"), "+none\r\n");
    }

    #[test]
    fn listpack_to_hashtable() {
        let mut h = Harness::new();
        h.run("HSET h f v");
        assert_eq!(h.run("OBJECT ENCODING h"), "$8\r\nlistpack\r\n");
        let long = "x".repeat(65);
        h.run(&format!("HSET h g {long}"));
        assert_eq!(h.run("OBJECT ENCODING h"), "$9\r\nhashtable\r\n");
    }
}
