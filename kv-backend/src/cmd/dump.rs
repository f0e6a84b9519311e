//! DUMP and RESTORE: values as Redis' RDB-encoded payloads (see `crate::rdb`).

use super::{eq_ic, err, CmdError, CmdResult, Ctx, SYNTAX};
use crate::db::{lru_clock, Access, Entry};
use crate::rdb::{decode, encode};
use crate::types::Sds;
use crate::util::parse_i64_strict;
use bytes::Bytes;

pub fn dump(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    match ctx.lookup(&argv[1], Access::Read) {
        None => ctx.out.null(),
        Some(e) => {
            let payload = encode::dump_payload(&e.val);
            ctx.out.bulk(&payload);
        }
    }
    Ok(())
}

/// RESTORE's options after the payload.
#[derive(Default)]
struct RestoreOptions {
    replace: bool,
    absolute_ttl: bool,
    idle_secs: Option<i64>,
    frequency: Option<u32>,
}

fn parse_restore_options(argv: &[Bytes]) -> Result<RestoreOptions, CmdError> {
    let mut opts = RestoreOptions::default();
    let mut i = 4;
    while i < argv.len() {
        let arg = &argv[i];
        let has_value = i + 1 < argv.len();
        if eq_ic(arg, "REPLACE") {
            opts.replace = true;
        } else if eq_ic(arg, "ABSTTL") {
            opts.absolute_ttl = true;
        } else if eq_ic(arg, "IDLETIME") && has_value && opts.frequency.is_none() {
            let idle = super::int_arg(&argv[i + 1])?;
            if idle < 0 {
                return Err(err("ERR Invalid IDLETIME value, must be >= 0"));
            }
            opts.idle_secs = Some(idle);
            i += 1;
        } else if eq_ic(arg, "FREQ") && has_value && opts.idle_secs.is_none() {
            let freq = super::int_arg(&argv[i + 1])?;
            if !(0..=255).contains(&freq) {
                return Err(err("ERR Invalid FREQ value, must be >= 0 and <= 255"));
            }
            opts.frequency = Some(freq as u32);
            i += 1;
        } else {
            return Err(err(SYNTAX));
        }
        i += 1;
    }
    Ok(opts)
}

/// Redis' 24-bit LRU clock wraps at this value.
const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;

pub fn restore(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let opts = parse_restore_options(argv)?;
    let key = &argv[1];
    if !opts.replace && ctx.lookup(key, Access::Write).is_some() {
        return Err(err("BUSYKEY Target key name already exists."));
    }
    let ttl = parse_i64_strict(&argv[2]).ok_or_else(|| err(super::NOT_INT))?;
    if ttl < 0 {
        return Err(err("ERR Invalid TTL value, must be >= 0"));
    }
    if !decode::verify_payload(&argv[3]) {
        return Err(err("ERR DUMP payload version or checksum are wrong"));
    }
    let thresholds = ctx.store.config.thresholds;
    let val = decode::read_object(&argv[3], &thresholds).map_err(|_| err("ERR Bad data format"))?;

    let db = ctx.client.db;
    let now = ctx.now;
    if opts.replace {
        ctx.store.delete(db, key, now);
    }
    let expire_at = match ttl {
        0 => None,
        t if opts.absolute_ttl => Some(t),
        t => Some(t.saturating_add(now)),
    };
    if expire_at.is_some_and(|when| when <= now) {
        // Already expired: the key is not created (but REPLACE did delete).
        ctx.out.ok();
        return Ok(());
    }
    let lru = initial_lru(ctx, &opts);
    ctx.store.dbs[db].insert(Sds::from_slice(key), Entry { val, lru });
    if let Some(when) = expire_at {
        ctx.store.set_expire(db, key, when);
    }
    ctx.store.signal_modified(db, key);
    ctx.out.ok();
    Ok(())
}

/// The LRU/LFU field for the restored key: FREQ under an LFU policy,
/// IDLETIME under the others, else a fresh access.
fn initial_lru(ctx: &Ctx, opts: &RestoreOptions) -> u32 {
    let fresh = ctx.store.fresh_lru(ctx.now);
    if ctx.store.config.maxmemory_policy.is_lfu() {
        match opts.frequency {
            Some(freq) => (fresh & !0xff) | freq,
            None => fresh,
        }
    } else {
        match opts.idle_secs {
            Some(idle) => {
                let clock = lru_clock(ctx.now) as i64;
                clock.wrapping_sub(idle).rem_euclid(LRU_CLOCK_MAX) as u32
            }
            None => fresh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Harness;
    use bytes::Bytes;

    /// The DUMP payload of a key (read from the store: the harness turns
    /// replies into lossy text).
    fn payload_of(h: &mut Harness, key: &str) -> Bytes {
        let db = h.client.db;
        let entry = h.store.dbs[db]
            .keys
            .get(key.as_bytes())
            .expect("key exists");
        Bytes::from(crate::rdb::encode::dump_payload(&entry.val))
    }

    fn restore(h: &mut Harness, args: &[&str], payload: &Bytes) -> String {
        let mut argv = vec![
            Bytes::from_static(b"RESTORE"),
            Bytes::from(args[0].to_string()),
            Bytes::from(args[1].to_string()),
            payload.clone(),
        ];
        argv.extend(args[2..].iter().map(|a| Bytes::from(a.to_string())));
        h.run_args(&argv)
    }

    #[test]
    fn restore_options_and_errors() {
        let mut h = Harness::new();
        h.run("RPUSH l a b 3");
        let p = payload_of(&mut h, "l");
        assert_eq!(
            restore(&mut h, &["l", "0"], &p),
            "-BUSYKEY Target key name already exists.\r\n"
        );
        assert_eq!(
            restore(&mut h, &["l2", "-1"], &p),
            "-ERR Invalid TTL value, must be >= 0\r\n"
        );
        assert_eq!(
            restore(&mut h, &["l2", "0", "FREQ", "5", "IDLETIME", "1"], &p),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            restore(&mut h, &["l2", "0", "IDLETIME", "-1"], &p),
            "-ERR Invalid IDLETIME value, must be >= 0\r\n"
        );
        assert_eq!(
            restore(&mut h, &["l2", "5000", "IDLETIME", "100"], &p),
            "+OK\r\n"
        );
        assert_eq!(h.run("OBJECT IDLETIME l2"), ":100\r\n");
        assert_eq!(
            h.run("LRANGE l2 0 -1"),
            "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\n3\r\n"
        );
        assert_eq!(h.run("PTTL l2"), ":5000\r\n");
        assert_eq!(
            restore(&mut h, &["l", "1", "ABSTTL", "REPLACE"], &p),
            "+OK\r\n"
        );
        assert_eq!(h.run("EXISTS l"), ":0\r\n");
        let bad = Bytes::from_static(b"\x00\x01a\x0a\x00garbage!");
        assert_eq!(
            restore(&mut h, &["x", "0"], &bad),
            "-ERR DUMP payload version or checksum are wrong\r\n"
        );
    }
}
