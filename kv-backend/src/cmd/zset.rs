//! Sorted set commands: ZADD, the 7.0 ZRANGE family, ranks, scores,
//! removal by range, pops (blocking too), set algebra with WEIGHTS and
//! AGGREGATE, random members and ZSCAN.

use super::generic::{parse_scan, reply_scan, scan_window};
use super::hash::distinct_indexes;
use super::list::parse_mpop;
use super::{eq_ic, err, float_arg, int_arg, timeout_arg, CmdError, CmdResult, Ctx, SYNTAX};
use crate::blocking::BlockOp;
use crate::db::{Access, Entry, Store};
use crate::frame::Reply;
use crate::types::zset::{LexBound, ScoreBound, ZSet};
use crate::types::{sds, HashMap, Sds, Thresholds, Value};
use crate::util::{clamp_range, glob_match, rand_below};
use bytes::Bytes;

const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";
const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";

fn zset_mut<'a>(
    store: &'a mut Store,
    db: usize,
    key: &[u8],
    now: i64,
    access: Access,
) -> Result<Option<&'a mut ZSet>, CmdError> {
    match store.lookup(db, key, now, access) {
        None => Ok(None),
        Some(Entry {
            val: Value::ZSet(z),
            ..
        }) => Ok(Some(z)),
        Some(_) => Err(super::wrongtype()),
    }
}

/// Pops `count` lowest (or highest) elements; deletes the key if emptied.
pub fn zset_pop(
    store: &mut Store,
    db: usize,
    key: &[u8],
    min: bool,
    count: usize,
    now: i64,
) -> Result<Option<Vec<(Sds, f64)>>, CmdError> {
    let Some(z) = zset_mut(store, db, key, now, Access::Write)? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for _ in 0..count {
        let Some(id) = (if min { z.list.first() } else { z.list.last() }) else {
            break;
        };
        let (m, s) = (z.list.member(id).clone(), z.list.score(id));
        z.remove(&m);
        out.push((m, s));
    }
    if z.is_empty() {
        store.remove(db, key);
    }
    if !out.is_empty() {
        store.signal_modified(db, key);
    }
    Ok(Some(out))
}

/// Writes `[key, [[member, score], ...]]` (ZMPOP/BZMPOP).
pub fn reply_key_pairs(out: &mut Reply, key: &[u8], items: &[(Sds, f64)]) {
    out.array(2);
    out.bulk(key);
    out.array(items.len());
    for (m, s) in items {
        out.array(2);
        out.bulk(m);
        out.double(*s);
    }
}

/// Writes members, with scores if asked: flat in RESP2, pairs in RESP3.
fn reply_members(out: &mut Reply, items: &[(Sds, f64)], withscores: bool) {
    if withscores && out.resp3 {
        out.array(items.len());
        for (m, s) in items {
            out.array(2);
            out.bulk(m);
            out.double(*s);
        }
    } else {
        out.array(if withscores {
            items.len() * 2
        } else {
            items.len()
        });
        for (m, s) in items {
            out.bulk(m);
            if withscores {
                out.double(*s);
            }
        }
    }
}

fn new_zset_value(first_member: &[u8], t: &Thresholds) -> Value {
    Value::ZSet(Box::new(ZSet::new(first_member.len(), t)))
}

pub fn zadd(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        if eq_ic(a, "NX") {
            nx = true;
        } else if eq_ic(a, "XX") {
            xx = true;
        } else if eq_ic(a, "GT") {
            gt = true;
        } else if eq_ic(a, "LT") {
            lt = true;
        } else if eq_ic(a, "CH") {
            ch = true;
        } else if eq_ic(a, "INCR") {
            incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let pairs = &argv[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(err(SYNTAX));
    }
    if nx && xx {
        return Err(err(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(err(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && pairs.len() > 2 {
        return Err(err(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let scores: Vec<f64> = pairs
        .chunks(2)
        .map(|p| float_arg(&p[0]))
        .collect::<Result<_, _>>()?;
    let t = ctx.store.config.thresholds;
    let db = ctx.client.db;
    let exists = zset_mut(ctx.store, db, &argv[1], ctx.now, Access::Write)?.is_some();
    if !exists {
        if xx {
            if incr {
                ctx.out.null();
            } else {
                ctx.out.int(0);
            }
            return Ok(());
        }
        let v = new_zset_value(&pairs[1], &t);
        ctx.store.set(db, &argv[1], v, false, ctx.now);
    }
    let z = zset_mut(ctx.store, db, &argv[1], ctx.now, Access::Write)?.expect("present");
    let (mut added, mut changed) = (0, 0);
    let mut incr_result = None;
    for (p, &score) in pairs.chunks(2).zip(&scores) {
        let mut nan = false;
        let was_added = z.upsert(&p[1], &t, |current| match current {
            Some(cur) => {
                if nx {
                    return None;
                }
                let new = if incr { cur + score } else { score };
                if new.is_nan() {
                    nan = true;
                    return None;
                }
                if (gt && new <= cur) || (lt && new >= cur) {
                    return None;
                }
                incr_result = Some(new);
                if new != cur {
                    changed += 1;
                }
                Some(new)
            }
            None if xx => None,
            None => {
                incr_result = Some(score);
                Some(score)
            }
        });
        if nan {
            return Err(err(NAN_SCORE));
        }
        if was_added {
            added += 1;
        }
    }
    ctx.delete_if_empty(&argv[1]);
    if added + changed > 0 {
        ctx.modified(&argv[1]);
    }
    if incr {
        match incr_result {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.int(if ch { added + changed } else { added });
    }
    Ok(())
}

pub fn zincrby(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let delta = float_arg(&argv[2])?;
    let t = ctx.store.config.thresholds;
    let z = match ctx.ensure(&argv[1], super::is_zset, || new_zset_value(&argv[3], &t))? {
        Value::ZSet(z) => z,
        _ => unreachable!("type checked"),
    };
    let mut new = f64::NAN;
    z.upsert(&argv[3], &t, |current| {
        new = current.unwrap_or(0.0) + delta;
        (!new.is_nan()).then_some(new)
    });
    if new.is_nan() {
        ctx.delete_if_empty(&argv[1]);
        return Err(err(NAN_SCORE));
    }
    ctx.modified(&argv[1]);
    ctx.out.double(new);
    Ok(())
}

pub fn zrem(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    super::remove_members(ctx, argv, Ctx::get_zset, |z: &mut Box<ZSet>, m| z.remove(m))
}

pub fn zcard(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    super::reply_len(ctx, &argv[1], super::is_zset)
}

pub fn zscore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    match ctx
        .get_zset(&argv[1], Access::Read)?
        .and_then(|z| z.score(&argv[2]))
    {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn zmscore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let scores: Vec<Option<f64>> = match ctx.get_zset(&argv[1], Access::Read)? {
        Some(z) => argv[2..].iter().map(|m| z.score(m)).collect(),
        None => vec![None; argv.len() - 2],
    };
    ctx.out.array(scores.len());
    for s in scores {
        match s {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn rank_generic(ctx: &mut Ctx, argv: &[Bytes], rev: bool) -> CmdResult {
    let r = ctx.get_zset(&argv[1], Access::Read)?.and_then(|z| {
        z.rank(&argv[2])
            .map(|r| if rev { z.len() - 1 - r } else { r })
    });
    match r {
        Some(r) => ctx.out.int(r as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn zrank(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    rank_generic(ctx, argv, false)
}
pub fn zrevrank(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    rank_generic(ctx, argv, true)
}

fn score_bounds(min: &[u8], max: &[u8]) -> Result<(ScoreBound, ScoreBound), CmdError> {
    match (ScoreBound::parse(min), ScoreBound::parse(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(err(NOT_FLOAT_RANGE)),
    }
}

fn lex_bounds(min: &[u8], max: &[u8]) -> Result<(LexBound, LexBound), CmdError> {
    match (LexBound::parse(min), LexBound::parse(max)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(err(NOT_LEX_RANGE)),
    }
}

pub fn zcount(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (min, max) = score_bounds(&argv[2], &argv[3])?;
    let n = ctx
        .get_zset(&argv[1], Access::Read)?
        .and_then(|z| z.score_span(min, max).map(|(a, b)| z.count_between(a, b)))
        .unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

pub fn zlexcount(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (min, max) = lex_bounds(&argv[2], &argv[3])?;
    let n = ctx
        .get_zset(&argv[1], Access::Read)?
        .and_then(|z| z.lex_span(&min, &max).map(|(a, b)| z.count_between(a, b)))
        .unwrap_or(0);
    ctx.out.int(n as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum RangeBy {
    Rank,
    Score,
    Lex,
}

/// A parsed ZRANGE-family request.
struct RangeSpec {
    by: RangeBy,
    rev: bool,
    start: Bytes,
    stop: Bytes,
    limit: Option<(i64, i64)>,
    withscores: bool,
}

/// Parses `[BYSCORE|BYLEX] [REV] [LIMIT o c] [WITHSCORES]` after min/max.
fn parse_range_opts(
    spec: &mut RangeSpec,
    opts: &[Bytes],
    allow_by: bool,
    allow_withscores: bool,
) -> CmdResult {
    let mut i = 0;
    while i < opts.len() {
        let a = &opts[i];
        if allow_by && eq_ic(a, "BYSCORE") {
            spec.by = RangeBy::Score;
        } else if allow_by && eq_ic(a, "BYLEX") {
            spec.by = RangeBy::Lex;
        } else if allow_by && eq_ic(a, "REV") {
            spec.rev = true;
        } else if eq_ic(a, "WITHSCORES") && allow_withscores {
            spec.withscores = true;
        } else if eq_ic(a, "LIMIT") && i + 2 < opts.len() {
            spec.limit = Some((int_arg(&opts[i + 1])?, int_arg(&opts[i + 2])?));
            i += 2;
        } else {
            return Err(err(SYNTAX));
        }
        i += 1;
    }
    if spec.limit.is_some() && spec.by == RangeBy::Rank {
        return Err(err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if spec.withscores && spec.by == RangeBy::Lex {
        return Err(err(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    Ok(())
}

/// Runs a range request against a sorted set.
fn run_range(z: &ZSet, spec: &RangeSpec) -> Result<Vec<(Sds, f64)>, CmdError> {
    let (offset, count) = spec.limit.unwrap_or((0, -1));
    if offset < 0 {
        return Ok(Vec::new());
    }
    let take = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    let span = match spec.by {
        RangeBy::Rank => {
            let (s, e) = (int_arg(&spec.start)?, int_arg(&spec.stop)?);
            return Ok(match clamp_range(s, e, z.len() as i64) {
                Some((s, e)) => z.range_by_rank(s, e, spec.rev),
                None => Vec::new(),
            });
        }
        RangeBy::Score => {
            let (min, max) = if spec.rev {
                score_bounds(&spec.stop, &spec.start)?
            } else {
                score_bounds(&spec.start, &spec.stop)?
            };
            z.score_span(min, max)
        }
        RangeBy::Lex => {
            let (min, max) = if spec.rev {
                lex_bounds(&spec.stop, &spec.start)?
            } else {
                lex_bounds(&spec.start, &spec.stop)?
            };
            z.lex_span(&min, &max)
        }
    };
    let Some((first, last)) = span else {
        return Ok(Vec::new());
    };
    let total = z.count_between(first, last);
    if offset as usize >= total {
        return Ok(Vec::new());
    }
    let from = if spec.rev { last } else { first };
    let mut items = z.walk(
        from,
        (offset as usize).saturating_add(take).min(total),
        spec.rev,
    );
    items.drain(..offset as usize);
    Ok(items)
}

fn range_reply(ctx: &mut Ctx, key: &[u8], spec: &RangeSpec) -> CmdResult {
    let items = match ctx.get_zset(key, Access::Read)? {
        Some(z) => run_range(z, spec)?,
        None => {
            // Validate the bounds even for a missing key, as Redis does.
            let empty = ZSet::default();
            run_range(&empty, spec)?
        }
    };
    reply_members(ctx.out, &items, spec.withscores);
    Ok(())
}

fn spec(argv: &[Bytes], by: RangeBy, rev: bool) -> RangeSpec {
    RangeSpec {
        by,
        rev,
        start: argv[2].clone(),
        stop: argv[3].clone(),
        limit: None,
        withscores: false,
    }
}

pub fn zrange(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let mut s = spec(argv, RangeBy::Rank, false);
    parse_range_opts(&mut s, &argv[4..], true, true)?;
    range_reply(ctx, &argv[1], &s)
}

pub fn zrevrange(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let mut s = spec(argv, RangeBy::Rank, true);
    parse_range_opts(&mut s, &argv[4..], false, true)?;
    range_reply(ctx, &argv[1], &s)
}

pub fn zrangebyscore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let mut s = spec(argv, RangeBy::Score, false);
    parse_range_opts(&mut s, &argv[4..], false, true)?;
    range_reply(ctx, &argv[1], &s)
}

pub fn zrevrangebyscore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let mut s = spec(argv, RangeBy::Score, true);
    parse_range_opts(&mut s, &argv[4..], false, true)?;
    range_reply(ctx, &argv[1], &s)
}

pub fn zrangebylex(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let mut s = spec(argv, RangeBy::Lex, false);
    parse_range_opts(&mut s, &argv[4..], false, false)?;
    range_reply(ctx, &argv[1], &s)
}

pub fn zrevrangebylex(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let mut s = spec(argv, RangeBy::Lex, true);
    parse_range_opts(&mut s, &argv[4..], false, false)?;
    range_reply(ctx, &argv[1], &s)
}

/// Stores `items` as a sorted set at `dst` (deleting it if empty), with the
/// encoding Redis would pick for a freshly built set.
fn store_zset(ctx: &mut Ctx, dst: &[u8], items: &[(Sds, f64)]) {
    let db = ctx.client.db;
    if items.is_empty() {
        ctx.store.delete(db, dst, ctx.now);
        return;
    }
    let t = ctx.store.config.thresholds;
    let mut z = ZSet::new(0, &t);
    for (m, s) in items {
        z.set(m, *s, &t);
    }
    z.listpack = items.len() <= t.zset_max_listpack_entries
        && items
            .iter()
            .all(|(m, _)| m.len() <= t.zset_max_listpack_value);
    ctx.store
        .set(db, dst, Value::ZSet(Box::new(z)), false, ctx.now);
}

pub fn zrangestore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let mut s = RangeSpec {
        by: RangeBy::Rank,
        rev: false,
        start: argv[3].clone(),
        stop: argv[4].clone(),
        limit: None,
        withscores: false,
    };
    parse_range_opts(&mut s, &argv[5..], true, false)?;
    let items = match ctx.get_zset(&argv[2], Access::Read)? {
        Some(z) => run_range(z, &s)?,
        None => run_range(&ZSet::default(), &s)?,
    };
    store_zset(ctx, &argv[1], &items);
    ctx.out.int(items.len() as i64);
    Ok(())
}

fn remrange(ctx: &mut Ctx, argv: &[Bytes], by: RangeBy) -> CmdResult {
    let s = RangeSpec {
        by,
        rev: false,
        start: argv[2].clone(),
        stop: argv[3].clone(),
        limit: None,
        withscores: false,
    };
    let removed = match ctx.get_zset(&argv[1], Access::Write)? {
        None => {
            run_range(&ZSet::default(), &s)?;
            0
        }
        Some(z) => {
            let items = run_range(z, &s)?;
            for (m, _) in &items {
                z.remove(m);
            }
            items.len()
        }
    };
    if removed > 0 {
        ctx.delete_if_empty(&argv[1]);
        ctx.modified(&argv[1]);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

pub fn zremrangebyrank(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    remrange(ctx, argv, RangeBy::Rank)
}
pub fn zremrangebyscore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    remrange(ctx, argv, RangeBy::Score)
}
pub fn zremrangebylex(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    remrange(ctx, argv, RangeBy::Lex)
}

fn pop_cmd(ctx: &mut Ctx, argv: &[Bytes], min: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(err(SYNTAX));
    }
    let count = super::optional_count(argv.get(2))?;
    let items = zset_pop(
        ctx.store,
        ctx.client.db,
        &argv[1],
        min,
        count.unwrap_or(1),
        ctx.now,
    )?
    .unwrap_or_default();
    if !items.is_empty() {
        ctx.modified(&argv[1]);
    }
    if count.is_some() && ctx.out.resp3 {
        reply_members(ctx.out, &items, true);
    } else {
        ctx.out.array(items.len() * 2);
        for (m, s) in &items {
            ctx.out.bulk(m);
            ctx.out.double(*s);
        }
    }
    Ok(())
}

pub fn zpopmin(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    pop_cmd(ctx, argv, true)
}
pub fn zpopmax(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    pop_cmd(ctx, argv, false)
}

fn first_nonempty(ctx: &mut Ctx, keys: &[Sds]) -> Result<Option<Sds>, CmdError> {
    super::first_existing(ctx, keys, super::is_zset)
}

pub fn zmpop(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (keys, min, count) = parse_mpop(argv, 1, ("MIN", "MAX"))?;
    match first_nonempty(ctx, &keys)? {
        Some(k) => {
            let items =
                zset_pop(ctx.store, ctx.client.db, &k, min, count, ctx.now)?.unwrap_or_default();
            reply_key_pairs(ctx.out, &k, &items);
        }
        None => ctx.out.null_array(),
    }
    Ok(())
}

fn bzpop(ctx: &mut Ctx, argv: &[Bytes], min: bool) -> CmdResult {
    let timeout = timeout_arg(&argv[argv.len() - 1])?;
    let keys: Vec<Sds> = argv[1..argv.len() - 1].iter().map(|k| sds(k)).collect();
    if let Some(k) = first_nonempty(ctx, &keys)? {
        let items = zset_pop(ctx.store, ctx.client.db, &k, min, 1, ctx.now)?.unwrap_or_default();
        let (m, s) = &items[0];
        ctx.out.array(3);
        ctx.out.bulk(&k);
        ctx.out.bulk(m);
        ctx.out.double(*s);
        return Ok(());
    }
    if ctx.in_exec {
        ctx.out.null_array();
    } else {
        ctx.block(keys, BlockOp::ZPop { min }, timeout);
    }
    Ok(())
}

pub fn bzpopmin(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    bzpop(ctx, argv, true)
}
pub fn bzpopmax(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    bzpop(ctx, argv, false)
}

pub fn bzmpop(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let timeout = timeout_arg(&argv[1])?;
    let (keys, min, count) = parse_mpop(argv, 2, ("MIN", "MAX"))?;
    if let Some(k) = first_nonempty(ctx, &keys)? {
        let items =
            zset_pop(ctx.store, ctx.client.db, &k, min, count, ctx.now)?.unwrap_or_default();
        reply_key_pairs(ctx.out, &k, &items);
        return Ok(());
    }
    if ctx.in_exec {
        ctx.out.null_array();
    } else {
        ctx.block(keys, BlockOp::ZMPop { min, count }, timeout);
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

#[derive(Clone, Copy, PartialEq)]
enum ZOp {
    Union,
    Inter,
    Diff,
}

/// Members and scores of an input key: sorted sets, or plain sets with score 1.
fn load_weighted(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<(Sds, f64)>>, CmdError> {
    match ctx.lookup(key, Access::Read).map(|e| &e.val) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z.walk_all())),
        Some(Value::Set(s)) => Ok(Some(s.members().into_iter().map(|m| (m, 1.0)).collect())),
        Some(_) => Err(super::wrongtype()),
    }
}

impl ZSet {
    fn walk_all(&self) -> Vec<(Sds, f64)> {
        match self.list.first() {
            Some(f) => self.walk(f, self.len(), false),
            None => Vec::new(),
        }
    }
}

fn combine(a: f64, b: f64, agg: Aggregate) -> f64 {
    let r = match agg {
        Aggregate::Sum => a + b,
        Aggregate::Min => a.min(b),
        Aggregate::Max => a.max(b),
    };
    // inf + -inf is NaN; Redis turns it into 0.
    if r.is_nan() {
        0.0
    } else {
        r
    }
}

/// Parses `numkeys key... [WEIGHTS w...] [AGGREGATE x] [WITHSCORES]` and
/// computes the result, sorted by (score, member).
fn zalgebra(
    ctx: &mut Ctx,
    argv: &[Bytes],
    at: usize,
    op: ZOp,
    allow_withscores: bool,
    cmd: &str,
) -> Result<(Vec<(Sds, f64)>, bool), CmdError> {
    let n = int_arg(&argv[at])?;
    if n < 1 {
        return Err(err(format!(
            "ERR at least 1 input key is needed for '{cmd}' command"
        )));
    }
    let n = n as usize;
    if at + 1 + n > argv.len() {
        return Err(err(SYNTAX));
    }
    let keys = &argv[at + 1..at + 1 + n];
    let mut weights = vec![1.0; n];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut i = at + 1 + n;
    while i < argv.len() {
        if eq_ic(&argv[i], "WEIGHTS") && op != ZOp::Diff && i + n < argv.len() {
            for (j, w) in weights.iter_mut().enumerate() {
                *w = crate::util::parse_f64(&argv[i + 1 + j])
                    .ok_or_else(|| err("ERR weight value is not a float"))?;
            }
            i += n + 1;
        } else if eq_ic(&argv[i], "AGGREGATE") && op != ZOp::Diff && i + 1 < argv.len() {
            let a = &argv[i + 1];
            agg = if eq_ic(a, "SUM") {
                Aggregate::Sum
            } else if eq_ic(a, "MIN") {
                Aggregate::Min
            } else if eq_ic(a, "MAX") {
                Aggregate::Max
            } else {
                return Err(err(SYNTAX));
            };
            i += 2;
        } else if eq_ic(&argv[i], "WITHSCORES") && allow_withscores {
            withscores = true;
            i += 1;
        } else {
            return Err(err(SYNTAX));
        }
    }
    let inputs: Vec<Option<Vec<(Sds, f64)>>> = keys
        .iter()
        .map(|k| load_weighted(ctx, k))
        .collect::<Result<_, _>>()?;
    let weighted = |s: f64, w: f64| {
        let r = s * w;
        if r.is_nan() {
            0.0
        } else {
            r
        }
    };
    let mut acc: crate::types::IndexMap<Sds, f64> = Default::default();
    match op {
        ZOp::Union => {
            for (input, w) in inputs.iter().zip(&weights) {
                for (m, s) in input.iter().flatten() {
                    let v = weighted(*s, *w);
                    acc.entry(m.clone())
                        .and_modify(|cur| *cur = combine(*cur, v, agg))
                        .or_insert(v);
                }
            }
        }
        ZOp::Inter => {
            if inputs.iter().all(|i| i.is_some()) {
                let maps: Vec<HashMap<&Sds, f64>> = inputs
                    .iter()
                    .flatten()
                    .map(|v| v.iter().map(|(m, s)| (m, *s)).collect())
                    .collect();
                for (m, s) in inputs[0].iter().flatten() {
                    let mut v = weighted(*s, weights[0]);
                    let mut all = true;
                    for (j, map) in maps.iter().enumerate().skip(1) {
                        match map.get(m) {
                            Some(s2) => v = combine(v, weighted(*s2, weights[j]), agg),
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if all {
                        acc.insert(m.clone(), v);
                    }
                }
            }
        }
        ZOp::Diff => {
            let rest: crate::types::HashSet<&Sds> = inputs
                .iter()
                .skip(1)
                .flatten()
                .flatten()
                .map(|(m, _)| m)
                .collect();
            for (m, s) in inputs[0].iter().flatten() {
                if !rest.contains(m) {
                    acc.insert(m.clone(), *s);
                }
            }
        }
    }
    let mut items: Vec<(Sds, f64)> = acc.into_iter().collect();
    items.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    Ok((items, withscores))
}

fn zstore_cmd(ctx: &mut Ctx, argv: &[Bytes], op: ZOp, cmd: &str) -> CmdResult {
    let (items, _) = zalgebra(ctx, argv, 2, op, false, cmd)?;
    store_zset(ctx, &argv[1], &items);
    ctx.out.int(items.len() as i64);
    Ok(())
}

fn zalgebra_cmd(ctx: &mut Ctx, argv: &[Bytes], op: ZOp, cmd: &str) -> CmdResult {
    let (items, withscores) = zalgebra(ctx, argv, 1, op, true, cmd)?;
    reply_members(ctx.out, &items, withscores);
    Ok(())
}

pub fn zunionstore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    zstore_cmd(ctx, argv, ZOp::Union, "zunionstore")
}
pub fn zinterstore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    zstore_cmd(ctx, argv, ZOp::Inter, "zinterstore")
}
pub fn zdiffstore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    zstore_cmd(ctx, argv, ZOp::Diff, "zdiffstore")
}
pub fn zunion(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    zalgebra_cmd(ctx, argv, ZOp::Union, "zunion")
}
pub fn zinter(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    zalgebra_cmd(ctx, argv, ZOp::Inter, "zinter")
}
pub fn zdiff(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    zalgebra_cmd(ctx, argv, ZOp::Diff, "zdiff")
}

pub fn zintercard(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (keys, limit) = super::set::parse_card_args(argv)?;
    let mut fake: Vec<Bytes> = vec![
        Bytes::from_static(b"zinter"),
        Bytes::from(keys.len().to_string()),
    ];
    fake.extend(keys);
    let (items, _) = zalgebra(ctx, &fake, 1, ZOp::Inter, false, "zintercard")?;
    let n = items.len();
    ctx.out.int(if limit > 0 { n.min(limit) } else { n } as i64);
    Ok(())
}

pub fn zrandmember(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let count = match argv.get(2) {
        Some(c) => Some(int_arg(c)?),
        None => None,
    };
    let withscores = match argv.get(3) {
        Some(a) if eq_ic(a, "WITHSCORES") && argv.len() == 4 => true,
        Some(_) => return Err(err(SYNTAX)),
        None => false,
    };
    let picks: Option<Vec<(Sds, f64)>> = ctx.get_zset(&argv[1], Access::Read)?.map(|z| {
        let len = z.len();
        let at = |i: usize| {
            let id = z.list.by_rank(i).expect("in range");
            (z.list.member(id).clone(), z.list.score(id))
        };
        match count {
            None => vec![at(rand_below(len))],
            Some(c) if c < 0 => (0..c.unsigned_abs().min(100_000_000))
                .map(|_| at(rand_below(len)))
                .collect(),
            Some(c) => distinct_indexes(len, c as usize)
                .into_iter()
                .map(at)
                .collect(),
        }
    });
    match (picks, count) {
        (None, None) => ctx.out.null(),
        (None, Some(_)) => ctx.out.array(0),
        (Some(p), None) => ctx.out.bulk(&p[0].0),
        (Some(p), Some(_)) => reply_members(ctx.out, &p, withscores),
    }
    Ok(())
}

pub fn zscan(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let o = parse_scan(argv, 2, false)?;
    let mut items = Vec::new();
    let mut next = 0;
    if let Some(z) = ctx.get_zset(&argv[1], Access::Read)? {
        let mut push = |m: &Sds, s: f64| {
            if o.pattern.as_ref().is_none_or(|p| glob_match(p, m, false)) {
                items.push(m.clone());
                items.push(Sds::from_slice(crate::util::fmt_double(s).as_bytes()));
            }
        };
        let (window, after) = scan_window(&o, z.len(), z.listpack);
        if z.listpack {
            // A listpack is returned whole, in score order, as Redis does.
            for (m, s) in z.walk_all() {
                push(&m, s);
            }
        } else {
            // Map positions only move down when members go, so a count-down
            // cursor over them never skips a member that stays.
            for i in window {
                if let Some((m, s)) = z.list.at_position(i) {
                    push(m, s);
                }
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

    /// The notes' three ZUNIONSTORE results (weights before aggregation).
    #[test]
    fn notes_union_example() {
        let mut h = Harness::new();
        h.run("ZADD k1 30 james 60 tom 80 tim");
        h.run("ZADD k2 40 alex 90 tom 100 tim");
        let cases = [
            (
                "ZUNIONSTORE r 2 k1 k2",
                [
                    ("james", "30"),
                    ("alex", "40"),
                    ("tom", "150"),
                    ("tim", "180"),
                ],
            ),
            (
                "ZUNIONSTORE r 2 k1 k2 WEIGHTS 1 0.5",
                [
                    ("alex", "20"),
                    ("james", "30"),
                    ("tom", "105"),
                    ("tim", "130"),
                ],
            ),
            (
                "ZUNIONSTORE r 2 k1 k2 WEIGHTS 1 0.5 AGGREGATE MIN",
                [
                    ("alex", "20"),
                    ("james", "30"),
                    ("tom", "45"),
                    ("tim", "50"),
                ],
            ),
        ];
        for (cmd, want) in cases {
            assert_eq!(h.run(cmd), ":4\r\n");
            let mut expect = "*8\r\n".to_string();
            for (m, s) in want {
                expect += &format!("${}\r\n{m}\r\n${}\r\n{s}\r\n", m.len(), s.len());
            }
            assert_eq!(h.run("ZRANGE r 0 -1 WITHSCORES"), expect, "{cmd}");
        }
    }

    #[test]
    fn zadd_flags_and_ranks() {
        let mut h = Harness::new();
        assert_eq!(h.run("ZADD z 1 a 2 b 3 c"), ":3\r\n");
        assert_eq!(h.run("ZADD z GT CH 0 a 5 b"), ":1\r\n");
        assert_eq!(h.run("ZRANK z b"), ":2\r\n");
        assert_eq!(h.run("ZINCRBY z 3.5 a"), "$3\r\n4.5\r\n");
        assert_eq!(
            h.run("ZRANGE z (3 +inf BYSCORE LIMIT 0 1"),
            "*1\r\n$1\r\na\r\n"
        );
        assert_eq!(h.run("ZREMRANGEBYRANK z 0 0"), ":1\r\n");
        assert_eq!(h.run("ZCARD z"), ":2\r\n");
    }
}
