//! MEMORY: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP.
//!
//! kv-server's only allocator view is the counting allocator (`alloc.rs`):
//! fields Redis takes from jemalloc are derived from it and the RSS.

use super::slowlog::{help_reply, subcommand};
use super::{eq_ic, err, int_arg, CmdResult, Ctx, SYNTAX};
use crate::alloc::used_memory;
use crate::db::{Access, Entry, Store};
use crate::types::Sds;
use bytes::Bytes;

/// (name, arity) of each subcommand, as Redis' command table has them.
const SUBCOMMANDS: &[(&str, i32)] = &[
    ("doctor", 2),
    ("help", 2),
    ("malloc-stats", 2),
    ("purge", 2),
    ("stats", 2),
    ("usage", -3),
];

const HELP: &[&str] = &[
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

/// Below this much allocated memory Redis' doctor declines to diagnose.
const DOCTOR_MIN_BYTES: u64 = 5 << 20;
/// A ratio only counts as a problem above this many wasted bytes.
const DOCTOR_WASTE_BYTES: u64 = 10 << 20;

pub fn memory(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    let sub = subcommand(argv, SUBCOMMANDS)?;
    match sub.as_str() {
        "usage" => usage(ctx, argv)?,
        "stats" => stats(ctx),
        "doctor" => {
            let report = doctor_report(&Overhead::measure(ctx.store));
            ctx.out.verbatim(&report);
        }
        // Redis built with libc malloc has no allocator report to give.
        "malloc-stats" => ctx
            .out
            .bulk(b"Stats not supported for the current allocator"),
        // The system allocator has no dirty pages to hand back on request.
        "purge" => ctx.out.ok(),
        _ => help_reply(ctx, argv, HELP),
    }
    Ok(())
}

fn usage(ctx: &mut Ctx, argv: &[Bytes]) -> CmdResult {
    // SAMPLES is parsed for its errors only: kv-server's size estimate
    // walks whole values.
    let mut options = argv[3..].iter();
    while let Some(opt) = options.next() {
        let Some(count) = options.next().filter(|_| eq_ic(opt, "SAMPLES")) else {
            return Err(err(SYNTAX));
        };
        if int_arg(count)? < 0 {
            return Err(err(SYNTAX));
        }
    }
    match ctx.lookup(&argv[2], Access::NoTouch) {
        Some(e) => {
            let n = crate::info::estimate_entry_size(&argv[2], &e.val);
            ctx.out.int(n as i64)
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// One database's hash table overheads, as MEMORY STATS lists them.
struct DbOverhead {
    id: usize,
    main: u64,
    expires: u64,
}

/// Redis' `redisMemOverhead`, filled with what kv-server can measure.
struct Overhead {
    total: u64,
    rss: u64,
    dbs: Vec<DbOverhead>,
    keys: u64,
}

impl Overhead {
    fn measure(store: &Store) -> Overhead {
        // A slot of each table: the key handle, the value and the index entry.
        let main_slot = (std::mem::size_of::<Sds>() + std::mem::size_of::<Entry>() + 8) as u64;
        let expires_slot = (std::mem::size_of::<Sds>() + std::mem::size_of::<i64>() + 8) as u64;
        let dbs = store
            .dbs
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.keys.is_empty())
            .map(|(id, d)| DbOverhead {
                id,
                main: d.keys.capacity() as u64 * main_slot,
                expires: d.expires.capacity() as u64 * expires_slot,
            })
            .collect();
        Overhead {
            total: used_memory() as u64,
            rss: crate::info::rss_bytes(),
            dbs,
            keys: store.dbs.iter().map(|d| d.keys.len() as u64).sum(),
        }
    }

    fn overhead_total(&self) -> u64 {
        self.dbs.iter().map(|d| d.main + d.expires).sum()
    }

    fn dataset(&self) -> u64 {
        self.total.saturating_sub(self.overhead_total())
    }

    /// RSS beyond what the allocator handed out: all of kv-server's
    /// fragmentation, as it cannot split allocator and process overhead.
    fn rss_ratio(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        self.rss as f64 / self.total as f64
    }

    fn rss_extra_bytes(&self) -> i64 {
        self.rss as i64 - self.total as i64
    }
}

fn stats(ctx: &mut Ctx) {
    let m = Overhead::measure(ctx.store);
    let percent = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 * 100.0 / whole as f64
        }
    };
    let o = &mut ctx.out;
    o.map(27 + m.dbs.len());
    let field = |o: &mut crate::frame::Reply, name: &str, n: i64| {
        o.bulk(name.as_bytes());
        o.int(n);
    };
    // kv-server keeps no peak or startup figure: the current one stands in.
    field(o, "peak.allocated", m.total as i64);
    field(o, "total.allocated", m.total as i64);
    field(o, "startup.allocated", 0);
    field(o, "replication.backlog", 0);
    field(o, "clients.slaves", 0);
    field(o, "clients.normal", 0);
    field(o, "cluster.links", 0);
    field(o, "aof.buffer", 0);
    field(o, "lua.caches", 0);
    field(o, "functions.caches", 0);
    for d in &m.dbs {
        o.bulk(format!("db.{}", d.id).as_bytes());
        o.map(3);
        field(o, "overhead.hashtable.main", d.main as i64);
        field(o, "overhead.hashtable.expires", d.expires as i64);
        field(o, "overhead.hashtable.slot-to-keys", 0);
    }
    field(o, "overhead.total", m.overhead_total() as i64);
    field(o, "keys.count", m.keys as i64);
    let per_key = m.total.checked_div(m.keys).unwrap_or(0);
    field(o, "keys.bytes-per-key", per_key as i64);
    field(o, "dataset.bytes", m.dataset() as i64);
    o.bulk(b"dataset.percentage");
    o.double(percent(m.dataset(), m.total));
    o.bulk(b"peak.percentage");
    o.double(percent(m.total, m.total));
    field(o, "allocator.allocated", m.total as i64);
    field(o, "allocator.active", m.total as i64);
    field(o, "allocator.resident", m.total as i64);
    o.bulk(b"allocator-fragmentation.ratio");
    o.double(1.0);
    field(o, "allocator-fragmentation.bytes", 0);
    o.bulk(b"allocator-rss.ratio");
    o.double(1.0);
    field(o, "allocator-rss.bytes", 0);
    o.bulk(b"rss-overhead.ratio");
    o.double(m.rss_ratio());
    field(o, "rss-overhead.bytes", m.rss_extra_bytes());
    o.bulk(b"fragmentation");
    o.double(m.rss_ratio());
    field(o, "fragmentation.bytes", m.rss_extra_bytes());
}

/// Redis' MEMORY DOCTOR texts. Of its checks only total RSS overhead can be
/// measured here (no peak, allocator, client buffer or script figures).
fn doctor_report(m: &Overhead) -> String {
    if m.total < DOCTOR_MIN_BYTES {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".into();
    }
    let high_rss = m.rss_ratio() > 1.4 && m.rss_extra_bytes() > DOCTOR_WASTE_BYTES as i64;
    if !high_rss {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".into();
    }
    "Sam, I detected a few issues in this Redis instance memory implants:\n\n * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"libc\".\n\nI'm here to keep you safe, Sam. I want to help you.\n".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overhead(total: u64, rss: u64) -> Overhead {
        Overhead {
            total,
            rss,
            dbs: Vec::new(),
            keys: 0,
        }
    }

    #[test]
    fn doctor_declines_small_instances_and_reports_rss_overhead() {
        assert!(doctor_report(&overhead(1 << 20, 100 << 20))
            .starts_with("Hi Sam, this instance is empty"));
        assert!(doctor_report(&overhead(50 << 20, 55 << 20))
            .starts_with("Hi Sam, I can't find any memory issue"));
        let report = doctor_report(&overhead(50 << 20, 200 << 20));
        assert!(report.starts_with("Sam, I detected a few issues"));
        assert!(report.contains(" * High total RSS:"));
    }
}
