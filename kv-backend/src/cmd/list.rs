//! List commands, including the blocking ones and the code that serves
//! blocked clients when a key they wait on gets data.

use super::{eq_ic, err, int_arg, timeout_arg, CmdError, CmdResult, Ctx, NO_KEY, SYNTAX};
use crate::blocking::BlockOp;
use crate::db::{Access, Entry, Store};
use crate::frame::Reply;
use crate::types::{sds, Sds, Value};
use crate::util::clamp_range;
use bytes::Bytes;
use std::collections::VecDeque;

type List = VecDeque<Sds>;

fn list_mut<'a>(
    store: &'a mut Store,
    db: usize,
    key: &[u8],
    now: i64,
) -> Result<Option<&'a mut List>, CmdError> {
    match store.lookup(db, key, now, Access::Write) {
        None => Ok(None),
        Some(Entry {
            val: Value::List(l),
            ..
        }) => Ok(Some(l)),
        Some(_) => Err(super::wrongtype()),
    }
}

/// Pops up to `count` elements from one end; deletes the key if emptied.
pub fn list_pop(
    store: &mut Store,
    db: usize,
    key: &[u8],
    left: bool,
    count: usize,
    now: i64,
) -> Result<Option<Vec<Sds>>, CmdError> {
    let Some(l) = list_mut(store, db, key, now)? else {
        return Ok(None);
    };
    let n = count.min(l.len());
    let items: Vec<Sds> = (0..n)
        .filter_map(|_| if left { l.pop_front() } else { l.pop_back() })
        .collect();
    if l.is_empty() {
        store.remove(db, key);
    }
    store.signal_modified(db, key);
    Ok(Some(items))
}

/// Pushes elements one by one (so `LPUSH k a b` leaves `b a`); creates the key.
pub fn list_push(
    store: &mut Store,
    db: usize,
    key: &[u8],
    items: &[&[u8]],
    left: bool,
    now: i64,
) -> Result<usize, CmdError> {
    let exists = list_mut(store, db, key, now)?.is_some();
    if !exists {
        let lru = store.fresh_lru(now);
        store.dbs[db].insert(
            sds(key),
            Entry {
                val: Value::List(Box::default()),
                lru,
            },
        );
    }
    let Some(Entry {
        val: Value::List(l),
        ..
    }) = store.dbs[db].keys.get_mut(key)
    else {
        unreachable!("just checked")
    };
    for it in items {
        if left {
            l.push_front(sds(it));
        } else {
            l.push_back(sds(it));
        }
    }
    let len = l.len();
    store.signal_modified(db, key);
    Ok(len)
}

/// LMOVE: pops from `src`, pushes to `dst`. Checks `dst`'s type first.
pub fn list_move(
    store: &mut Store,
    db: usize,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
    now: i64,
) -> Result<Option<Sds>, CmdError> {
    if list_mut(store, db, src, now)?.is_none() {
        return Ok(None);
    }
    list_mut(store, db, dst, now)?;
    let item = list_pop(store, db, src, from_left, 1, now)?.and_then(|mut v| v.pop());
    if let Some(it) = &item {
        list_push(store, db, dst, &[it.as_slice()], to_left, now)?;
    }
    Ok(item)
}

fn push_generic(ctx: &mut Ctx, argv: &[Bytes], left: bool, only_existing: bool) -> CmdResult {
    let db = ctx.db();
    if only_existing && list_mut(ctx.store, db, &argv[1], ctx.now)?.is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    let items: Vec<&[u8]> = argv[2..].iter().map(|b| b.as_ref()).collect();
    let len = list_push(ctx.store, db, &argv[1], &items, left, ctx.now)?;
    ctx.out.int(len as i64);
    Ok(())
}

pub fn lpush(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, true, false)
}
pub fn rpush(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, false, false)
}
pub fn lpushx(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, true, true)
}
pub fn rpushx(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, false, true)
}

fn pop_generic(ctx: &mut Ctx, argv: &[Bytes], left: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(err(format!(
            "ERR wrong number of arguments for '{}' command",
            if left { "lpop" } else { "rpop" }
        )));
    }
    let count = super::optional_count(argv.get(2))?;
    let db = ctx.db();
    if list_mut(ctx.store, db, &argv[1], ctx.now)?.is_none() {
        if count.is_some() {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
        return Ok(());
    }
    if count == Some(0) {
        ctx.out.array(0);
        return Ok(());
    }
    let items =
        list_pop(ctx.store, db, &argv[1], left, count.unwrap_or(1), ctx.now)?.unwrap_or_default();
    match count {
        Some(_) => ctx.out.bulks(items.iter()),
        None => ctx.out.bulk(&items[0]),
    }
    Ok(())
}

pub fn lpop(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    pop_generic(ctx, argv, true)
}
pub fn rpop(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    pop_generic(ctx, argv, false)
}

pub fn llen(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    super::reply_len(ctx, &argv[1], super::is_list)
}

pub fn lrange(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (start, end) = (int_arg(&argv[2])?, int_arg(&argv[3])?);
    let db = ctx.db();
    let l = match ctx.store.lookup(db, &argv[1], ctx.now, Access::Read) {
        None => {
            ctx.out.array(0);
            return Ok(());
        }
        Some(Entry {
            val: Value::List(l),
            ..
        }) => l,
        Some(_) => return Err(super::wrongtype()),
    };
    match clamp_range(start, end, l.len() as i64) {
        Some((s, e)) => {
            ctx.out.array(e - s + 1);
            for it in l.range(s..=e) {
                ctx.out.bulk(it);
            }
        }
        None => ctx.out.array(0),
    }
    Ok(())
}

fn index_of(len: usize, i: i64) -> Option<usize> {
    let idx = if i < 0 { len as i64 + i } else { i };
    (idx >= 0 && (idx as usize) < len).then_some(idx as usize)
}

pub fn lindex(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let i = int_arg(&argv[2])?;
    let item = ctx
        .get_list(&argv[1], Access::Read)?
        .and_then(|l| index_of(l.len(), i).map(|x| l[x].clone()));
    match item {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

pub fn lset(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let i = int_arg(&argv[2])?;
    let l = ctx
        .get_list(&argv[1], Access::Write)?
        .ok_or_else(|| err(NO_KEY))?;
    let idx = index_of(l.len(), i).ok_or_else(|| err("ERR index out of range"))?;
    l[idx] = sds(&argv[3]);
    ctx.modified(&argv[1]);
    ctx.out.ok();
    Ok(())
}

pub fn lrem(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let count = int_arg(&argv[2])?;
    let target = &argv[3];
    let Some(l) = ctx.get_list(&argv[1], Access::Write)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut removed = 0;
    if count >= 0 {
        let mut i = 0;
        while i < l.len() && removed < limit {
            if l[i].as_slice() == target.as_ref() {
                l.remove(i);
                removed += 1;
            } else {
                i += 1;
            }
        }
    } else {
        let mut i = l.len();
        while i > 0 && removed < limit {
            i -= 1;
            if l[i].as_slice() == target.as_ref() {
                l.remove(i);
                removed += 1;
            }
        }
    }
    if removed > 0 {
        ctx.delete_if_empty(&argv[1]);
        ctx.modified(&argv[1]);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

pub fn linsert(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let after = if eq_ic(&argv[2], "AFTER") {
        true
    } else if eq_ic(&argv[2], "BEFORE") {
        false
    } else {
        return Err(err(SYNTAX));
    };
    let Some(l) = ctx.get_list(&argv[1], Access::Write)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(pos) = l.iter().position(|x| x.as_slice() == argv[3].as_ref()) else {
        ctx.out.int(-1);
        return Ok(());
    };
    l.insert(if after { pos + 1 } else { pos }, sds(&argv[4]));
    let len = l.len();
    ctx.modified(&argv[1]);
    ctx.out.int(len as i64);
    Ok(())
}

pub fn ltrim(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (start, end) = (int_arg(&argv[2])?, int_arg(&argv[3])?);
    if let Some(l) = ctx.get_list(&argv[1], Access::Write)? {
        match clamp_range(start, end, l.len() as i64) {
            Some((s, e)) => {
                l.truncate(e + 1);
                l.drain(..s);
            }
            None => l.clear(),
        }
        ctx.delete_if_empty(&argv[1]);
        ctx.modified(&argv[1]);
    }
    ctx.out.ok();
    Ok(())
}

pub fn lpos(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
    let mut i = 3;
    while i < argv.len() {
        if i + 1 >= argv.len() {
            return Err(err(SYNTAX));
        }
        let v = int_arg(&argv[i + 1])?;
        if eq_ic(&argv[i], "RANK") {
            if v == 0 {
                return Err(err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
            }
            if v == i64::MIN {
                return Err(err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
            }
            rank = v;
        } else if eq_ic(&argv[i], "COUNT") {
            if v < 0 {
                return Err(err("ERR COUNT can't be negative"));
            }
            count = Some(v as usize);
        } else if eq_ic(&argv[i], "MAXLEN") {
            if v < 0 {
                return Err(err("ERR MAXLEN can't be negative"));
            }
            maxlen = v as usize;
        } else {
            return Err(err(SYNTAX));
        }
        i += 2;
    }
    let target = argv[2].clone();
    let matches: Vec<usize> = match ctx.get_list(&argv[1], Access::Read)? {
        None => Vec::new(),
        Some(l) => {
            let len = l.len();
            let scan = if maxlen == 0 { len } else { maxlen.min(len) };
            let want = match count {
                Some(0) => usize::MAX,
                Some(c) => c,
                None => 1,
            };
            let mut skip = rank.unsigned_abs() as usize - 1;
            let mut found = Vec::new();
            for step in 0..scan {
                let idx = if rank > 0 { step } else { len - 1 - step };
                if l[idx].as_slice() == target.as_ref() {
                    if skip > 0 {
                        skip -= 1;
                    } else {
                        found.push(idx);
                        if found.len() >= want {
                            break;
                        }
                    }
                }
            }
            found
        }
    };
    match count {
        Some(_) => {
            ctx.out.array(matches.len());
            for m in matches {
                ctx.out.int(m as i64);
            }
        }
        None => match matches.first() {
            Some(m) => ctx.out.int(*m as i64),
            None => ctx.out.null(),
        },
    }
    Ok(())
}

fn side(arg: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(arg, "LEFT") {
        Ok(true)
    } else if eq_ic(arg, "RIGHT") {
        Ok(false)
    } else {
        Err(err(SYNTAX))
    }
}

fn reply_item(out: &mut Reply, item: Option<Sds>) {
    match item {
        Some(v) => out.bulk(&v),
        None => out.null(),
    }
}

pub fn lmove(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (from, to) = (side(&argv[3])?, side(&argv[4])?);
    let item = list_move(
        ctx.store,
        ctx.client.db,
        &argv[1],
        &argv[2],
        from,
        to,
        ctx.now,
    )?;
    reply_item(ctx.out, item);
    Ok(())
}

pub fn rpoplpush(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let item = list_move(
        ctx.store,
        ctx.client.db,
        &argv[1],
        &argv[2],
        false,
        true,
        ctx.now,
    )?;
    reply_item(ctx.out, item);
    Ok(())
}

/// Parses `numkeys key... <where> [COUNT n]` (LMPOP, ZMPOP and their
/// blocking forms). Returns keys, the side word and the count.
pub fn parse_mpop(
    argv: &[Bytes],
    at: usize,
    sides: (&str, &str),
) -> Result<(Vec<Sds>, bool, usize), CmdError> {
    let numkeys = int_arg(&argv[at]).map_err(|_| err("ERR numkeys should be greater than 0"))?;
    if numkeys <= 0 {
        return Err(err("ERR numkeys should be greater than 0"));
    }
    let numkeys = numkeys as usize;
    if at + 1 + numkeys >= argv.len() {
        return Err(err(SYNTAX));
    }
    let keys: Vec<Sds> = argv[at + 1..at + 1 + numkeys]
        .iter()
        .map(|k| sds(k))
        .collect();
    let w = &argv[at + 1 + numkeys];
    let first = if eq_ic(w, sides.0) {
        true
    } else if eq_ic(w, sides.1) {
        false
    } else {
        return Err(err(SYNTAX));
    };
    let mut count = None;
    let mut i = at + 2 + numkeys;
    while i < argv.len() {
        if eq_ic(&argv[i], "COUNT") && i + 1 < argv.len() && count.is_none() {
            let c = int_arg(&argv[i + 1])
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| err("ERR count should be greater than 0"))?;
            count = Some(c as usize);
            i += 2;
        } else {
            return Err(err(SYNTAX));
        }
    }
    Ok((keys, first, count.unwrap_or(1)))
}

fn reply_key_items(out: &mut Reply, key: &[u8], items: &[Sds]) {
    out.array(2);
    out.bulk(key);
    out.bulks(items.iter());
}

/// First key (in order) that holds a list (lists are never empty).
fn first_nonempty(ctx: &mut Ctx, keys: &[Sds]) -> Result<Option<Sds>, CmdError> {
    super::first_existing(ctx, keys, super::is_list)
}

pub fn lmpop(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (keys, left, count) = parse_mpop(argv, 1, ("LEFT", "RIGHT"))?;
    match first_nonempty(ctx, &keys)? {
        Some(k) => {
            let items =
                list_pop(ctx.store, ctx.client.db, &k, left, count, ctx.now)?.unwrap_or_default();
            reply_key_items(ctx.out, &k, &items);
        }
        None => ctx.out.null_array(),
    }
    Ok(())
}

/// BLPOP/BRPOP/BLMOVE/BLMPOP: serve now if possible, else block (or reply
/// nil inside EXEC, where nothing may block).
fn block_or_nil(ctx: &mut Ctx, keys: Vec<Sds>, op: BlockOp, timeout: Option<std::time::Duration>) {
    if ctx.in_exec {
        ctx.out.null_array();
    } else {
        ctx.block(keys, op, timeout);
    }
}

fn bpop(ctx: &mut Ctx, argv: &[Bytes], left: bool) -> CmdResult {
    let timeout = timeout_arg(&argv[argv.len() - 1])?;
    let keys: Vec<Sds> = argv[1..argv.len() - 1].iter().map(|k| sds(k)).collect();
    if let Some(k) = first_nonempty(ctx, &keys)? {
        let items = list_pop(ctx.store, ctx.client.db, &k, left, 1, ctx.now)?.unwrap_or_default();
        reply_key_items_flat(ctx.out, &k, &items[0]);
        return Ok(());
    }
    block_or_nil(ctx, keys, BlockOp::Pop { left }, timeout);
    Ok(())
}

fn reply_key_items_flat(out: &mut Reply, key: &[u8], item: &[u8]) {
    out.array(2);
    out.bulk(key);
    out.bulk(item);
}

pub fn blpop(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    bpop(ctx, argv, true)
}
pub fn brpop(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    bpop(ctx, argv, false)
}

fn bmove(
    ctx: &mut Ctx,
    argv: &[Bytes],
    from_left: bool,
    to_left: bool,
    timeout_at: usize,
) -> CmdResult {
    let timeout = timeout_arg(&argv[timeout_at])?;
    let db = ctx.client.db;
    if let Some(item) = list_move(
        ctx.store, db, &argv[1], &argv[2], from_left, to_left, ctx.now,
    )? {
        ctx.out.bulk(&item);
        return Ok(());
    }
    if ctx.in_exec {
        ctx.out.null();
        return Ok(());
    }
    ctx.block(
        vec![sds(&argv[1])],
        BlockOp::Move {
            dst: sds(&argv[2]),
            from_left,
            to_left,
        },
        timeout,
    );
    Ok(())
}

pub fn blmove(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let (from, to) = (side(&argv[3])?, side(&argv[4])?);
    bmove(ctx, argv, from, to, 5)
}

pub fn brpoplpush(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    bmove(ctx, argv, false, true, 3)
}

pub fn blmpop(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let timeout = timeout_arg(&argv[1])?;
    let (keys, left, count) = parse_mpop(argv, 2, ("LEFT", "RIGHT"))?;
    if let Some(k) = first_nonempty(ctx, &keys)? {
        let items =
            list_pop(ctx.store, ctx.client.db, &k, left, count, ctx.now)?.unwrap_or_default();
        reply_key_items(ctx.out, &k, &items);
        return Ok(());
    }
    block_or_nil(ctx, keys, BlockOp::MPop { left, count }, timeout);
    Ok(())
}

/// Tries a blocked client's operation on a key that became ready.
/// Returns the reply if it was served.
fn try_serve(
    store: &mut Store,
    db: usize,
    key: &[u8],
    op: &BlockOp,
    resp3: bool,
    now: i64,
) -> Option<Vec<u8>> {
    let mut r = Reply::new(resp3);
    match op {
        BlockOp::Pop { left } => {
            let items = list_pop(store, db, key, *left, 1, now).ok()??;
            reply_key_items_flat(&mut r, key, items.first()?);
        }
        BlockOp::MPop { left, count } => {
            let items = list_pop(store, db, key, *left, *count, now).ok()??;
            reply_key_items(&mut r, key, &items);
        }
        BlockOp::Move {
            dst,
            from_left,
            to_left,
        } => {
            let item = list_move(store, db, key, dst, *from_left, *to_left, now).ok()??;
            r.bulk(&item);
        }
        BlockOp::ZPop { min } => {
            let items = super::zset::zset_pop(store, db, key, *min, 1, now).ok()??;
            let (m, s) = items.first()?;
            r.array(3);
            r.bulk(key);
            r.bulk(m);
            r.double(*s);
        }
        BlockOp::ZMPop { min, count } => {
            let items = super::zset::zset_pop(store, db, key, *min, *count, now).ok()??;
            super::zset::reply_key_pairs(&mut r, key, &items);
        }
    }
    Some(r.buf)
}

/// Serves clients blocked on keys that got data, oldest client first.
pub fn serve_blocked(store: &mut Store, now: i64) {
    for _round in 0..1000 {
        let ready = store.blocking.take_ready();
        if ready.is_empty() {
            return;
        }
        for (db, key) in ready {
            for cid in store.blocking.queue(db, &key) {
                let Some(w) = store.blocking.waiters.get(&cid) else {
                    continue;
                };
                let (op, resp3) = (w.op.clone(), w.resp3);
                match try_serve(store, db, &key, &op, resp3, now) {
                    Some(reply) => {
                        if let Some(w) = store.blocking.unblock(cid) {
                            let _ = w.tx.send(reply);
                        }
                    }
                    None => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;

    #[test]
    fn push_pop_and_ranges() {
        let mut h = Harness::new();
        assert_eq!(h.run("LPUSH k a b c d"), ":4\r\n");
        assert_eq!(
            h.run("LRANGE k 0 -1"),
            "*4\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"
        );
        assert_eq!(h.run("RPOP k"), "$1\r\na\r\n");
        assert_eq!(h.run("LINSERT k BEFORE c X"), ":4\r\n");
        assert_eq!(h.run("LREM k -1 X"), ":1\r\n");
        assert_eq!(h.run("LTRIM k 0 0"), "+OK\r\n");
        assert_eq!(h.run("LPOP k 5"), "*1\r\n$1\r\nd\r\n");
        assert_eq!(h.run("EXISTS k"), ":0\r\n");
    }

    #[test]
    fn blocking_pop_inside_multi_does_not_block() {
        let mut h = Harness::new();
        h.run("MULTI");
        h.run("BLPOP nokey 0");
        assert_eq!(h.run("EXEC"), "*1\r\n*-1\r\n");
        assert!(h.client.blocked.is_none());
    }

    #[test]
    fn blocked_client_is_served_by_a_push() {
        let mut h = Harness::new();
        assert_eq!(h.run("BLPOP q 0"), "");
        let mut blocked = h.client.blocked.take().expect("blocked");
        h.client.id = 2;
        assert_eq!(h.run("RPUSH q x y"), ":2\r\n");
        let reply = blocked.rx.try_recv().expect("served");
        assert_eq!(
            String::from_utf8_lossy(&reply),
            "*2\r\n$1\r\nq\r\n$1\r\nx\r\n"
        );
        assert_eq!(h.run("LRANGE q 0 -1"), "*1\r\n$1\r\ny\r\n");
    }
}
