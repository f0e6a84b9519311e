//! Keyspace commands: DEL, EXISTS, TYPE, RENAME, KEYS, SCAN, SELECT, MOVE,
//! SWAPDB, COPY, FLUSH*, OBJECT and the EXPIRE/TTL family (SORT and
//! DUMP/RESTORE are in sort.rs and dump.rs).

use super::{eq_ic, err, int_arg, CmdError, CmdResult, Ctx, NO_KEY, SYNTAX};
use crate::db::{idle_secs, lfu_decayed, Access};
use crate::types::{Sds, Value};
use crate::util::{glob_match, rand_below};
use bytes::Bytes;

// The generic group's larger commands live in their own files.
pub use super::dump::{dump, restore};
pub use super::sort::{sort, sort_ro};

pub fn del(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let db = ctx.client.db;
    let n = argv[1..]
        .iter()
        .filter(|k| ctx.store.delete(db, k, ctx.now))
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

pub fn exists(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let n = argv[1..]
        .iter()
        .filter(|k| ctx.lookup(k, Access::Read).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

pub fn touch(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let n = argv[1..]
        .iter()
        .filter(|k| ctx.lookup(k, Access::Write).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

pub fn type_cmd(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let t = ctx
        .lookup(&argv[1], Access::NoTouch)
        .map_or("none", |e| e.val.type_name());
    ctx.out.simple(t);
    Ok(())
}

fn rename_generic(ctx: &mut Ctx, argv: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&argv[1], &argv[2]);
    let db = ctx.client.db;
    if !ctx.store.exists(db, src, ctx.now) {
        return Err(err(NO_KEY));
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if nx && ctx.store.exists(db, dst, ctx.now) {
        ctx.out.int(0);
        return Ok(());
    }
    let ttl = ctx.store.dbs[db].expire_at(src);
    let entry = ctx.store.remove(db, src).expect("exists");
    ctx.store.delete(db, dst, ctx.now);
    ctx.store.dbs[db].insert(Sds::from_slice(dst), entry);
    if let Some(t) = ttl {
        ctx.store.set_expire(db, dst, t);
    }
    ctx.store.signal_modified(db, src);
    ctx.store.signal_modified(db, dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

pub fn rename(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    rename_generic(ctx, argv, false)
}

pub fn renamenx(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    rename_generic(ctx, argv, true)
}

/// Live (not yet expired) keys of the current db matching `pattern`.
fn is_live(ctx: &Ctx, key: &[u8]) -> bool {
    ctx.store.dbs[ctx.client.db]
        .expire_at(key)
        .is_none_or(|w| w > ctx.now)
}

pub fn keys(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let pat = &argv[1];
    let all = pat.as_ref() == b"*";
    let found: Vec<Sds> = ctx.store.dbs[ctx.client.db]
        .keys
        .keys()
        .filter(|k| (all || glob_match(pat, k, false)) && is_live(ctx, k))
        .cloned()
        .collect();
    ctx.out.bulks(found.iter());
    Ok(())
}

/// Options shared by SCAN, HSCAN, SSCAN and ZSCAN.
pub struct ScanOpts {
    pub cursor: usize,
    pub pattern: Option<Bytes>,
    pub count: usize,
    pub type_name: Option<String>,
}

pub fn parse_scan(
    argv: &[Bytes],
    cursor_at: usize,
    allow_type: bool,
) -> Result<ScanOpts, CmdError> {
    let cursor = std::str::from_utf8(&argv[cursor_at])
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| err("ERR invalid cursor"))? as usize;
    let mut o = ScanOpts {
        cursor,
        pattern: None,
        count: 10,
        type_name: None,
    };
    let mut i = cursor_at + 1;
    while i < argv.len() {
        let has_val = i + 1 < argv.len();
        if eq_ic(&argv[i], "COUNT") && has_val {
            let c = int_arg(&argv[i + 1])?;
            if c < 1 {
                return Err(err(SYNTAX));
            }
            o.count = c as usize;
        } else if eq_ic(&argv[i], "MATCH") && has_val {
            o.pattern = Some(argv[i + 1].clone()).filter(|p| p.as_ref() != b"*");
        } else if eq_ic(&argv[i], "TYPE") && has_val && allow_type {
            o.type_name = Some(String::from_utf8_lossy(&argv[i + 1]).to_ascii_lowercase());
        } else {
            return Err(err(SYNTAX));
        }
        i += 2;
    }
    Ok(o)
}

/// The positions one SCAN/HSCAN/SSCAN/ZSCAN call covers, and the next cursor.
///
/// Cursors count down: cursor `c` means "positions below `c` are still to
/// visit", and 0 starts at the end. Removing an entry (swap_remove or
/// shift_remove) only moves other entries to lower positions, and inserting
/// appends, so an entry present for the whole scan stays below the cursor
/// until it is returned: none is missed, which is Redis' SCAN guarantee.
/// Small encodings (listpack, intset) are returned whole, as Redis does.
pub fn scan_window(o: &ScanOpts, len: usize, whole: bool) -> (std::ops::Range<usize>, usize) {
    if whole {
        return (0..len, 0);
    }
    let top = if o.cursor == 0 {
        len
    } else {
        o.cursor.min(len)
    };
    let bottom = top.saturating_sub(o.count);
    (bottom..top, bottom)
}

/// Writes `[next-cursor, [items...]]`.
pub fn reply_scan(ctx: &mut Ctx, next: usize, items: &[Sds]) {
    ctx.out.array(2);
    ctx.out.bulk(next.to_string().as_bytes());
    ctx.out.bulks(items.iter());
}

pub fn scan(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let o = parse_scan(argv, 1, true)?;
    let d = &ctx.store.dbs[ctx.client.db];
    let (window, next) = scan_window(&o, d.keys.len(), false);
    let mut out = Vec::new();
    for i in window {
        let Some((k, e)) = d.keys.get_index(i) else {
            break;
        };
        if o.pattern.as_ref().is_some_and(|p| !glob_match(p, k, false)) {
            continue;
        }
        if o.type_name.as_ref().is_some_and(|t| t != e.val.type_name()) {
            continue;
        }
        if !is_live(ctx, k) {
            continue;
        }
        out.push(k.clone());
    }
    reply_scan(ctx, next, &out);
    Ok(())
}

pub fn randomkey(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    let db = ctx.client.db;
    for _ in 0..100 {
        let len = ctx.store.dbs[db].keys.len();
        if len == 0 {
            break;
        }
        let k = ctx.store.dbs[db]
            .keys
            .get_index(rand_below(len))
            .expect("in range")
            .0
            .clone();
        if ctx.store.expire_if_needed(db, &k, ctx.now) {
            continue;
        }
        ctx.out.bulk(&k);
        return Ok(());
    }
    ctx.out.null();
    Ok(())
}

pub fn dbsize(ctx: &mut Ctx, _argv: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.store.dbs[ctx.client.db].keys.len() as i64);
    Ok(())
}

fn check_flush_args(argv: &[Bytes]) -> CmdResult {
    match argv.get(1) {
        None => Ok(()),
        Some(a) if argv.len() == 2 && (eq_ic(a, "ASYNC") || eq_ic(a, "SYNC")) => Ok(()),
        Some(_) => Err(err(SYNTAX)),
    }
}

pub fn flushdb(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    check_flush_args(argv)?;
    ctx.store.flush_db(ctx.client.db);
    ctx.out.ok();
    Ok(())
}

pub fn flushall(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    check_flush_args(argv)?;
    for db in 0..ctx.store.dbs.len() {
        ctx.store.flush_db(db);
    }
    ctx.out.ok();
    Ok(())
}

fn db_index(ctx: &Ctx, arg: &[u8], bad: &str) -> Result<usize, CmdError> {
    let n = int_arg(arg).map_err(|_| err(bad))?;
    if n < 0 || n as usize >= ctx.store.dbs.len() {
        return Err(err("ERR DB index is out of range"));
    }
    Ok(n as usize)
}

pub fn select(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let db = db_index(ctx, &argv[1], super::NOT_INT)?;
    ctx.client.db = db;
    ctx.out.ok();
    Ok(())
}

pub fn move_cmd(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let dst = db_index(ctx, &argv[2], super::NOT_INT)?;
    let src = ctx.client.db;
    if dst == src {
        return Err(err("ERR source and destination objects are the same"));
    }
    let key = &argv[1];
    if !ctx.store.exists(src, key, ctx.now) || ctx.store.exists(dst, key, ctx.now) {
        ctx.out.int(0);
        return Ok(());
    }
    let ttl = ctx.store.dbs[src].expire_at(key);
    let e = ctx.store.remove(src, key).expect("exists");
    ctx.store.dbs[dst].insert(Sds::from_slice(key), e);
    if let Some(t) = ttl {
        ctx.store.set_expire(dst, key, t);
    }
    ctx.store.signal_modified(src, key);
    ctx.store.signal_modified(dst, key);
    ctx.out.int(1);
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]
pub fn copy(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let src_db = ctx.client.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < argv.len() {
        if eq_ic(&argv[i], "REPLACE") {
            replace = true;
        } else if eq_ic(&argv[i], "DB") && i + 1 < argv.len() {
            dst_db = db_index(ctx, &argv[i + 1], super::NOT_INT)?;
            i += 1;
        } else {
            return Err(err(SYNTAX));
        }
        i += 1;
    }
    let (src, dst) = (&argv[1], &argv[2]);
    if src_db == dst_db && src == dst {
        return Err(err("ERR source and destination objects are the same"));
    }
    let now = ctx.now;
    let Some(entry) = ctx.store.lookup(src_db, src, now, Access::Read) else {
        ctx.out.int(0);
        return Ok(());
    };
    let copy = entry.val.duplicate();
    let ttl = ctx.store.dbs[src_db].expire_at(src);
    if ctx.store.lookup(dst_db, dst, now, Access::Write).is_some() {
        if !replace {
            ctx.out.int(0);
            return Ok(());
        }
        ctx.store.remove(dst_db, dst);
    }
    let lru = ctx.store.fresh_lru(now);
    ctx.store.dbs[dst_db].insert(Sds::from_slice(dst), crate::db::Entry { val: copy, lru });
    if let Some(when) = ttl {
        ctx.store.set_expire(dst_db, dst, when);
    }
    ctx.store.signal_modified(dst_db, dst);
    ctx.out.int(1);
    Ok(())
}

pub fn swapdb(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let a = db_index(ctx, &argv[1], "ERR invalid first DB index")?;
    let b = db_index(ctx, &argv[2], "ERR invalid second DB index")?;
    if a != b {
        ctx.store.touch_all_watched(a, Some(b));
        ctx.store.touch_all_watched(b, Some(a));
        let dbs = &mut ctx.store.dbs;
        let (ka, ea) = (
            std::mem::take(&mut dbs[a].keys),
            std::mem::take(&mut dbs[a].expires),
        );
        dbs[a].keys = std::mem::take(&mut dbs[b].keys);
        dbs[a].expires = std::mem::take(&mut dbs[b].expires);
        dbs[b].keys = ka;
        dbs[b].expires = ea;
        // Clients blocked in either db may now find data.
        for db in [a, b] {
            let keys: Vec<Sds> = ctx.store.dbs[db].keys.keys().cloned().collect();
            for k in keys {
                if ctx.store.blocking.is_waiting_on(db, &k) {
                    ctx.store.blocking.mark_ready(db, &k);
                }
            }
        }
    }
    ctx.out.ok();
    Ok(())
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

pub fn object(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    if sub == "help" && argv.len() == 2 {
        ctx.out.array(OBJECT_HELP.len());
        for l in OBJECT_HELP {
            ctx.out.simple(l);
        }
        return Ok(());
    }
    if !matches!(sub.as_str(), "encoding" | "refcount" | "idletime" | "freq") {
        return Err(err(format!(
            "ERR unknown subcommand '{}'. Try OBJECT HELP.",
            String::from_utf8_lossy(&argv[1])
        )));
    }
    if argv.len() != 3 {
        return Err(err(format!(
            "ERR wrong number of arguments for 'object|{sub}' command"
        )));
    }
    let lfu = ctx.store.config.maxmemory_policy.is_lfu();
    let decay = ctx.store.config.lfu_decay_time;
    let now = ctx.now;
    let Some(e) = ctx.lookup(&argv[2], Access::NoTouch) else {
        ctx.out.null();
        return Ok(());
    };
    match sub.as_str() {
        "encoding" => {
            let enc = e.val.encoding();
            ctx.out.bulk(enc.as_bytes());
        }
        "refcount" => {
            let shared = matches!(e.val, Value::Int(n) if (0..10000).contains(&n));
            ctx.out.int(if shared { i32::MAX as i64 } else { 1 });
        }
        "idletime" => {
            if lfu {
                return Err(err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
            }
            let idle = idle_secs(e.lru, now);
            ctx.out.int(idle as i64);
        }
        _ => {
            if !lfu {
                return Err(err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
            }
            let f = lfu_decayed(e.lru, now, decay);
            ctx.out.int(f as i64);
        }
    }
    Ok(())
}

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT with NX|XX|GT|LT.
fn expire_generic(
    ctx: &mut Ctx,
    argv: &[Bytes],
    ms_unit: bool,
    absolute: bool,
    cmd: &str,
) -> CmdResult {
    let v = int_arg(&argv[2])?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in &argv[3..] {
        if eq_ic(a, "NX") {
            nx = true;
        } else if eq_ic(a, "XX") {
            xx = true;
        } else if eq_ic(a, "GT") {
            gt = true;
        } else if eq_ic(a, "LT") {
            lt = true;
        } else {
            return Err(err(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(a)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(err(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(err(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let invalid = || err(format!("ERR invalid expire time in '{cmd}' command"));
    let mut when = if ms_unit {
        v
    } else {
        v.checked_mul(1000).ok_or_else(invalid)?
    };
    if !absolute {
        when = when.checked_add(ctx.now).ok_or_else(invalid)?;
    }
    let db = ctx.client.db;
    if !ctx.store.exists(db, &argv[1], ctx.now) {
        ctx.out.int(0);
        return Ok(());
    }
    let cur = ctx.store.dbs[db].expire_at(&argv[1]);
    let ok = if nx {
        cur.is_none()
    } else if xx && cur.is_none() {
        false
    } else if gt {
        // No TTL counts as infinite.
        cur.is_some_and(|c| when > c)
    } else if lt {
        cur.is_none_or(|c| when < c)
    } else {
        true
    };
    if !ok {
        ctx.out.int(0);
        return Ok(());
    }
    if when <= ctx.now {
        ctx.store.delete(db, &argv[1], ctx.now);
    } else {
        ctx.store.set_expire(db, &argv[1], when);
        ctx.modified(&argv[1]);
    }
    ctx.out.int(1);
    Ok(())
}

pub fn expire(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    expire_generic(ctx, argv, false, false, "expire")
}
pub fn pexpire(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    expire_generic(ctx, argv, true, false, "pexpire")
}
pub fn expireat(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    expire_generic(ctx, argv, false, true, "expireat")
}
pub fn pexpireat(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    expire_generic(ctx, argv, true, true, "pexpireat")
}

#[derive(Clone, Copy)]
enum TtlKind {
    Ttl,
    Pttl,
    ExpireTime,
    PExpireTime,
}

fn ttl_generic(ctx: &mut Ctx, argv: &[Bytes], kind: TtlKind) -> CmdResult {
    let db = ctx.client.db;
    if ctx.lookup(&argv[1], Access::NoTouch).is_none() {
        ctx.out.int(-2);
        return Ok(());
    }
    let Some(when) = ctx.store.dbs[db].expire_at(&argv[1]) else {
        ctx.out.int(-1);
        return Ok(());
    };
    let ttl = (when - ctx.now).max(0);
    ctx.out.int(match kind {
        TtlKind::Ttl => (ttl + 500) / 1000,
        TtlKind::Pttl => ttl,
        TtlKind::ExpireTime => (when + 500) / 1000,
        TtlKind::PExpireTime => when,
    });
    Ok(())
}

pub fn ttl(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, argv, TtlKind::Ttl)
}
pub fn pttl(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, argv, TtlKind::Pttl)
}
pub fn expiretime(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, argv, TtlKind::ExpireTime)
}
pub fn pexpiretime(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, argv, TtlKind::PExpireTime)
}

pub fn persist(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let db = ctx.client.db;
    let ok = ctx.lookup(&argv[1], Access::Write).is_some() && ctx.store.persist(db, &argv[1]);
    if ok {
        ctx.modified(&argv[1]);
    }
    ctx.out.int(ok as i64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;

    #[test]
    fn expire_options() {
        let mut h = Harness::new();
        h.run("SET k v");
        assert_eq!(h.run("EXPIRE k 100 XX"), ":0\r\n");
        assert_eq!(h.run("EXPIRE k 100 NX"), ":1\r\n");
        assert_eq!(h.run("EXPIRE k 50 GT"), ":0\r\n");
        assert_eq!(h.run("EXPIRE k 50 LT"), ":1\r\n");
        assert_eq!(h.run("TTL k"), ":50\r\n");
        h.now += 50_000;
        assert_eq!(h.run("GET k"), "$-1\r\n");
        assert_eq!(h.run("TTL k"), ":-2\r\n");
    }

    #[test]
    fn keys_and_rename() {
        let mut h = Harness::new();
        h.run("MSET one 1 two 2 three 3");
        assert!(h.run("KEYS t*").starts_with("*2\r\n"));
        assert_eq!(h.run("RENAME nokey x"), "-ERR no such key\r\n");
        assert_eq!(h.run("RENAMENX one two"), ":0\r\n");
        assert_eq!(h.run("RENAME one uno"), "+OK\r\n");
        assert_eq!(h.run("SELECT 16"), "-ERR DB index is out of range\r\n");
        assert_eq!(h.run("MOVE uno 3"), ":1\r\n");
        assert_eq!(h.run("DBSIZE"), ":2\r\n");
    }
}
