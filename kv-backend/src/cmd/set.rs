//! Set commands, including the algebra and its STORE forms.

use super::generic::{parse_scan, reply_scan, scan_window};
use super::hash::distinct_indexes;
use super::{eq_ic, err, int_arg, CmdError, CmdResult, Ctx};
use crate::db::Access;
use crate::types::set::Set;
use crate::types::{Sds, Value};
use crate::util::{glob_match, rand_below};
use bytes::Bytes;

fn set_for_write<'a>(ctx: &'a mut Ctx, key: &[u8], first: &[u8]) -> Result<&'a mut Set, CmdError> {
    let t = ctx.store.config.thresholds;
    match ctx.ensure(key, super::is_set, || {
        Value::Set(Box::new(Set::for_member(first, &t)))
    })? {
        Value::Set(s) => Ok(s),
        _ => unreachable!("type checked"),
    }
}

pub fn sadd(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let t = ctx.store.config.thresholds;
    let s = set_for_write(ctx, &argv[1], &argv[2])?;
    let n = argv[2..].iter().filter(|m| s.add(m, &t)).count();
    if n > 0 {
        ctx.modified(&argv[1]);
    }
    ctx.out.int(n as i64);
    Ok(())
}

pub fn srem(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    super::remove_members(ctx, argv, Ctx::get_set, |s: &mut Box<Set>, m| s.remove(m))
}

pub fn scard(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    super::reply_len(ctx, &argv[1], super::is_set)
}

pub fn sismember(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let m = ctx
        .get_set(&argv[1], Access::Read)?
        .is_some_and(|s| s.contains(&argv[2]));
    ctx.out.int(m as i64);
    Ok(())
}

pub fn smismember(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let flags: Vec<bool> = match ctx.get_set(&argv[1], Access::Read)? {
        Some(s) => argv[2..].iter().map(|m| s.contains(m)).collect(),
        None => vec![false; argv.len() - 2],
    };
    ctx.out.array(flags.len());
    for f in flags {
        ctx.out.int(f as i64);
    }
    Ok(())
}

pub fn smembers(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let m = ctx
        .get_set(&argv[1], Access::Read)?
        .map(|s| s.members())
        .unwrap_or_default();
    ctx.out.set(m.len());
    for x in &m {
        ctx.out.bulk(x);
    }
    Ok(())
}

pub fn srandmember(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 3 {
        return Err(err(super::SYNTAX));
    }
    let count = match argv.get(2) {
        Some(c) => Some(int_arg(c)?),
        None => None,
    };
    let picks: Option<Vec<Sds>> = ctx.get_set(&argv[1], Access::Read)?.map(|s| match count {
        None => s.random().into_iter().collect(),
        Some(c) if c < 0 => (0..c.unsigned_abs().min(100_000_000))
            .map(|_| s.at(rand_below(s.len())))
            .collect(),
        Some(c) => distinct_indexes(s.len(), c as usize)
            .into_iter()
            .map(|i| s.at(i))
            .collect(),
    });
    match (picks, count) {
        (None, None) => ctx.out.null(),
        (None, Some(_)) => ctx.out.array(0),
        (Some(p), None) => ctx.out.bulk(&p[0]),
        (Some(p), Some(_)) => ctx.out.bulks(p.iter()),
    }
    Ok(())
}

pub fn spop(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 3 {
        return Err(err(super::SYNTAX));
    }
    let count = super::optional_count(argv.get(2))?;
    let popped: Option<Vec<Sds>> = match ctx.get_set(&argv[1], Access::Write)? {
        None => None,
        Some(s) => {
            let want = count.unwrap_or(1).min(s.len());
            let mut out = Vec::with_capacity(want);
            for _ in 0..want {
                let m = s.at(rand_below(s.len()));
                s.remove(&m);
                out.push(m);
            }
            Some(out)
        }
    };
    if popped.as_ref().is_some_and(|p| !p.is_empty()) {
        ctx.delete_if_empty(&argv[1]);
        ctx.modified(&argv[1]);
    }
    match (popped, count) {
        (None, None) => ctx.out.null(),
        (Some(p), None) => ctx.out.bulk(&p[0]),
        (p, Some(_)) => {
            let p = p.unwrap_or_default();
            ctx.out.set(p.len());
            for m in &p {
                ctx.out.bulk(m);
            }
        }
    }
    Ok(())
}

pub fn smove(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (src, dst, m) = (&argv[1], &argv[2], &argv[3]);
    let has = match ctx.get_set(src, Access::Write)? {
        None => {
            ctx.out.int(0);
            return Ok(());
        }
        Some(s) => s.contains(m),
    };
    ctx.check_type(dst, super::is_set)?;
    if src == dst {
        ctx.out.int(has as i64);
        return Ok(());
    }
    if !has {
        ctx.out.int(0);
        return Ok(());
    }
    if let Some(s) = ctx.get_set(src, Access::Write)? {
        s.remove(m);
    }
    ctx.delete_if_empty(src);
    ctx.modified(src);
    let t = ctx.store.config.thresholds;
    set_for_write(ctx, dst, m)?.add(m, &t);
    ctx.modified(dst);
    ctx.out.int(1);
    Ok(())
}

/// Members of each key (None for a missing key); WRONGTYPE on other types.
fn load_sets(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Vec<Option<Vec<Sds>>>, CmdError> {
    keys.iter()
        .map(|k| Ok(ctx.get_set(k, Access::Read)?.map(|s| s.members())))
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

fn algebra(sets: Vec<Option<Vec<Sds>>>, op: Op) -> Vec<Sds> {
    match op {
        Op::Inter => {
            if sets.iter().any(|s| s.is_none()) {
                return Vec::new();
            }
            let mut sets: Vec<Vec<Sds>> = sets.into_iter().flatten().collect();
            sets.sort_by_key(|s| s.len());
            let others: Vec<crate::types::HashSet<&Sds>> =
                sets[1..].iter().map(|s| s.iter().collect()).collect();
            sets[0]
                .iter()
                .filter(|m| others.iter().all(|o| o.contains(m)))
                .cloned()
                .collect()
        }
        Op::Union => {
            let mut seen = crate::types::IndexSet::default();
            for s in sets.into_iter().flatten() {
                seen.extend(s);
            }
            seen.into_iter().collect()
        }
        Op::Diff => {
            let mut it = sets.into_iter();
            let first = it.next().flatten().unwrap_or_default();
            let rest: crate::types::HashSet<Sds> = it.flatten().flatten().collect();
            first.into_iter().filter(|m| !rest.contains(m)).collect()
        }
    }
}

fn algebra_cmd(ctx: &mut Ctx, argv: &[Bytes], op: Op) -> CmdResult {
    let sets = load_sets(ctx, &argv[1..])?;
    let r = algebra(sets, op);
    ctx.out.set(r.len());
    for m in &r {
        ctx.out.bulk(m);
    }
    Ok(())
}

fn store_cmd(ctx: &mut Ctx, argv: &[Bytes], op: Op) -> CmdResult {
    let sets = load_sets(ctx, &argv[2..])?;
    let r = algebra(sets, op);
    let db = ctx.client.db;
    let dst = &argv[1];
    if r.is_empty() {
        ctx.store.delete(db, dst, ctx.now);
    } else {
        let t = ctx.store.config.thresholds;
        let mut s = Set::for_member(&r[0], &t);
        for m in &r {
            s.add(m, &t);
        }
        ctx.store
            .set(db, dst, Value::Set(Box::new(s)), false, ctx.now);
    }
    ctx.out.int(r.len() as i64);
    Ok(())
}

pub fn sinter(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    algebra_cmd(ctx, argv, Op::Inter)
}
pub fn sunion(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    algebra_cmd(ctx, argv, Op::Union)
}
pub fn sdiff(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    algebra_cmd(ctx, argv, Op::Diff)
}
pub fn sinterstore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    store_cmd(ctx, argv, Op::Inter)
}
pub fn sunionstore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    store_cmd(ctx, argv, Op::Union)
}
pub fn sdiffstore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    store_cmd(ctx, argv, Op::Diff)
}

/// Parses `numkeys key... [LIMIT n]` for SINTERCARD and ZINTERCARD.
pub fn parse_card_args(argv: &[Bytes]) -> Result<(Vec<Bytes>, usize), CmdError> {
    let n = int_arg(&argv[1])
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| err("ERR numkeys should be greater than 0"))? as usize;
    if 2 + n > argv.len() {
        return Err(err(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let keys = argv[2..2 + n].to_vec();
    let mut limit = 0usize;
    let rest = &argv[2 + n..];
    match rest.len() {
        0 => {}
        2 if eq_ic(&rest[0], "LIMIT") => {
            let l = int_arg(&rest[1]).map_err(|_| err("ERR LIMIT can't be negative"))?;
            if l < 0 {
                return Err(err("ERR LIMIT can't be negative"));
            }
            limit = l as usize;
        }
        _ => return Err(err(super::SYNTAX)),
    }
    Ok((keys, limit))
}

pub fn sintercard(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (keys, limit) = parse_card_args(argv)?;
    let sets = load_sets(ctx, &keys)?;
    let n = algebra(sets, Op::Inter).len();
    ctx.out.int(if limit > 0 { n.min(limit) } else { n } as i64);
    Ok(())
}

pub fn sscan(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let o = parse_scan(argv, 2, false)?;
    let mut items = Vec::new();
    let mut next = 0;
    if let Some(s) = ctx.get_set(&argv[1], Access::Read)? {
        let len = s.len();
        let whole = matches!(**s, Set::Intset(_));
        let (window, after) = scan_window(&o, len, whole);
        for i in window {
            let m = s.at(i);
            if o.pattern.as_ref().is_none_or(|p| glob_match(p, &m, false)) {
                items.push(m);
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
    fn intset_and_algebra() {
        let mut h = Harness::new();
        assert_eq!(h.run("SADD s 3 1 2 1"), ":3\r\n");
        assert_eq!(h.run("OBJECT ENCODING s"), "$6\r\nintset\r\n");
        assert_eq!(
            h.run("SMEMBERS s"),
            "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
        );
        h.run("SADD t 2 3 4");
        assert_eq!(h.run("SINTERCARD 2 s t"), ":2\r\n");
        assert_eq!(h.run("SDIFFSTORE d s t"), ":1\r\n");
        assert_eq!(h.run("SMEMBERS d"), "*1\r\n$1\r\n1\r\n");
        h.run("SADD s x");
        assert_eq!(h.run("OBJECT ENCODING s"), "$9\r\nhashtable\r\n");
    }

    #[test]
    fn srandmember_counts() {
        let mut h = Harness::new();
        h.run("SADD s a b c");
        assert!(h.run("SRANDMEMBER s 10").starts_with("*3\r\n"));
        assert!(h.run("SRANDMEMBER s -10").starts_with("*10\r\n"));
        assert_eq!(h.run("SCARD s"), ":3\r\n");
    }
}
