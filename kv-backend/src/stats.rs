//! Server statistics behind INFO stats / commandstats / errorstats: per
//! command counters, error counts by prefix, network byte counters and the
//! instantaneous (sampled) rates.
//!
//! Cost on the hot path: one Vec index and four additions per command, an
//! atomic add per socket read or write. Nothing allocates unless a command
//! fails with an error prefix never seen before.

use crate::cmd::table::{self, Command};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Bytes read from and written to client sockets (`total_net_*_bytes`).
/// Atomics so connections count without taking the store lock.
pub static NET_INPUT_BYTES: AtomicU64 = AtomicU64::new(0);
pub static NET_OUTPUT_BYTES: AtomicU64 = AtomicU64::new(0);

pub fn count_input(n: usize) {
    NET_INPUT_BYTES.fetch_add(n as u64, Ordering::Relaxed);
}

pub fn count_output(n: usize) {
    NET_OUTPUT_BYTES.fetch_add(n as u64, Ordering::Relaxed);
}

/// Subcommands of Redis' container commands, as Redis names their stats
/// (`cmdstat_client|id`). The parent of a container never gets a line.
const CONTAINERS: &[(&str, &[&str])] = &[
    (
        "client",
        &[
            "caching",
            "getname",
            "getredir",
            "help",
            "id",
            "info",
            "kill",
            "list",
            "no-evict",
            "pause",
            "reply",
            "setname",
            "tracking",
            "trackinginfo",
            "unblock",
            "unpause",
        ],
    ),
    (
        "command",
        &[
            "count",
            "docs",
            "getkeys",
            "getkeysandflags",
            "help",
            "info",
            "list",
        ],
    ),
    ("config", &["get", "help", "resetstat", "rewrite", "set"]),
    (
        "latency",
        &[
            "doctor",
            "graph",
            "help",
            "histogram",
            "history",
            "latest",
            "reset",
        ],
    ),
    (
        "memory",
        &["doctor", "help", "malloc-stats", "purge", "stats", "usage"],
    ),
    (
        "object",
        &["encoding", "freq", "help", "idletime", "refcount"],
    ),
    (
        "pubsub",
        &[
            "channels",
            "help",
            "numpat",
            "numsub",
            "shardchannels",
            "shardnumsub",
        ],
    ),
    ("slowlog", &["get", "help", "len", "reset"]),
];

/// Stat slots: one per command of the table, then one per known subcommand.
struct Slots {
    names: Vec<String>,
    /// For each command id: the range of its subcommand slots, if a container.
    subs: Vec<Option<(usize, usize)>>,
}

fn slots() -> &'static Slots {
    static S: OnceLock<Slots> = OnceLock::new();
    S.get_or_init(|| {
        let all = table::all();
        let mut names: Vec<String> = all.iter().map(|c| c.name.to_string()).collect();
        let mut subs = vec![None; all.len()];
        for (parent, list) in CONTAINERS {
            let Some(c) = table::lookup(parent.as_bytes()) else {
                continue;
            };
            let start = names.len();
            names.extend(list.iter().map(|s| format!("{parent}|{s}")));
            subs[table::id(c)] = Some((start, names.len()));
        }
        Slots { names, subs }
    })
}

/// The stat slot a call is counted in; None for an unknown subcommand
/// (Redis rejects those before they reach any command).
pub fn slot_of(cmd: &Command, argv: &[Bytes]) -> Option<usize> {
    let s = slots();
    let id = table::id(cmd);
    match s.subs.get(id).copied().flatten() {
        None => Some(id),
        Some((start, end)) => {
            let sub = argv.get(1)?;
            (start..end).find(|&i| {
                let full = &s.names[i];
                full.len() == cmd.name.len() + 1 + sub.len()
                    && full.as_bytes()[cmd.name.len() + 1..].eq_ignore_ascii_case(sub)
            })
        }
    }
}

/// The name Redis shows for a call (CLIENT LIST `cmd=`): `client|list` for
/// a known subcommand, else the command's own name.
pub fn full_name(cmd: &'static Command, argv: &[Bytes]) -> &'static str {
    match slot_of(cmd, argv) {
        Some(slot) => slots().names.get(slot).map_or(cmd.name, String::as_str),
        None => cmd.name,
    }
}

/// Subcommand arity errors come from the handlers here, but Redis rejects
/// them before the call: they count as rejected, not as calls.
pub fn is_arity_error(msg: &str) -> bool {
    msg.starts_with("ERR wrong number of arguments for '")
}

#[derive(Debug, Default, Clone, Copy)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

#[derive(Debug, Default, Clone)]
pub struct CommandStats {
    slots: Vec<CmdStat>,
}

impl CommandStats {
    fn slot(&mut self, i: usize) -> Option<&mut CmdStat> {
        if i >= self.slots.len() {
            let n = slots().names.len();
            if i >= n {
                return None;
            }
            self.slots.resize(n, CmdStat::default());
        }
        self.slots.get_mut(i)
    }

    pub fn called(&mut self, i: usize, usec: u64, failed: bool) {
        if let Some(s) = self.slot(i) {
            s.calls += 1;
            s.usec += usec;
            s.failed += failed as u64;
        }
    }

    pub fn rejected(&mut self, i: usize) {
        if let Some(s) = self.slot(i) {
            s.rejected += 1;
        }
    }

    /// `# Commandstats` lines, for the commands that saw any traffic.
    pub fn render(&self, o: &mut String) {
        let names = &slots().names;
        for (s, name) in self.slots.iter().zip(names) {
            if s.calls == 0 && s.rejected == 0 && s.failed == 0 {
                continue;
            }
            let per_call = if s.calls == 0 {
                0.0
            } else {
                s.usec as f64 / s.calls as f64
            };
            let _ = write!(
                o,
                "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                s.calls, s.usec, s.rejected, s.failed
            );
        }
    }
}

/// Redis stops tracking new error prefixes past this many.
const ERROR_PREFIXES_MAX: usize = 128;

/// Error replies counted by prefix (`errorstat_WRONGTYPE:count=1`).
#[derive(Debug, Default, Clone)]
pub struct ErrorStats {
    by_prefix: BTreeMap<String, u64>,
}

impl ErrorStats {
    pub fn count(&mut self, msg: &str) {
        let prefix = msg.split(' ').next().unwrap_or(msg);
        if let Some(n) = self.by_prefix.get_mut(prefix) {
            *n += 1;
        } else if self.by_prefix.len() < ERROR_PREFIXES_MAX {
            self.by_prefix.insert(prefix.to_string(), 1);
        }
    }

    pub fn render(&self, o: &mut String) {
        for (prefix, n) in &self.by_prefix {
            let _ = write!(o, "errorstat_{prefix}:count={n}\r\n");
        }
    }
}

/// Samples kept per rate, as Redis' STATS_METRIC_SAMPLES.
const SAMPLES: usize = 16;
/// Redis samples the rates every 100 ms.
pub const SAMPLE_PERIOD_MS: i64 = 100;

/// A per-second rate averaged over the last 16 samples.
#[derive(Debug, Default, Clone)]
pub struct Rate {
    samples: [u64; SAMPLES],
    next: usize,
    last_ms: i64,
    last_reading: u64,
}

impl Rate {
    fn sample(&mut self, now_ms: i64, reading: u64) {
        let elapsed = now_ms - self.last_ms;
        if self.last_ms != 0 && elapsed > 0 {
            let delta = reading.saturating_sub(self.last_reading);
            self.samples[self.next] = delta * 1000 / elapsed as u64;
            self.next = (self.next + 1) % SAMPLES;
        }
        self.last_ms = now_ms;
        self.last_reading = reading;
    }

    pub fn per_second(&self) -> u64 {
        self.samples.iter().sum::<u64>() / SAMPLES as u64
    }
}

/// The three rates INFO stats shows.
#[derive(Debug, Default, Clone)]
pub struct Rates {
    pub ops: Rate,
    pub input: Rate,
    pub output: Rate,
    last_sample_ms: i64,
}

impl Rates {
    /// Called by the cron: takes a sample once per SAMPLE_PERIOD_MS.
    pub fn maybe_sample(&mut self, now_ms: i64, commands: u64) {
        if now_ms - self.last_sample_ms < SAMPLE_PERIOD_MS {
            return;
        }
        self.last_sample_ms = now_ms;
        self.ops.sample(now_ms, commands);
        self.input
            .sample(now_ms, NET_INPUT_BYTES.load(Ordering::Relaxed));
        self.output
            .sample(now_ms, NET_OUTPUT_BYTES.load(Ordering::Relaxed));
    }
}

/// CONFIG RESETSTAT's share outside the Stats struct.
pub fn reset_net_counters() {
    NET_INPUT_BYTES.store(0, Ordering::Relaxed);
    NET_OUTPUT_BYTES.store(0, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcommands_get_their_own_slot() {
        let client = table::lookup(b"client").expect("client");
        let id = slot_of(client, &[Bytes::from("CLIENT"), Bytes::from("Id")]).expect("slot");
        assert_eq!(slots().names[id], "client|id");
        assert_eq!(
            slot_of(client, &[Bytes::from("CLIENT"), Bytes::from("nope")]),
            None
        );
        let get = table::lookup(b"get").expect("get");
        let id = slot_of(get, &[Bytes::from("GET"), Bytes::from("k")]).expect("slot");
        assert_eq!(slots().names[id], "get");
    }

    #[test]
    fn command_lines_have_redis_shape() {
        let mut s = CommandStats::default();
        let get = table::id(table::lookup(b"get").expect("get"));
        s.called(get, 10, false);
        s.called(get, 5, true);
        s.rejected(get);
        let mut o = String::new();
        s.render(&mut o);
        assert_eq!(
            o,
            "cmdstat_get:calls=2,usec=15,usec_per_call=7.50,rejected_calls=1,failed_calls=1\r\n"
        );
    }

    #[test]
    fn errors_counted_by_prefix() {
        let mut e = ErrorStats::default();
        e.count("WRONGTYPE Operation against a key");
        e.count("ERR syntax error");
        e.count("ERR no such key");
        let mut o = String::new();
        e.render(&mut o);
        assert_eq!(
            o,
            "errorstat_ERR:count=2\r\nerrorstat_WRONGTYPE:count=1\r\n"
        );
    }

    #[test]
    fn rate_averages_sixteen_samples() {
        let mut r = Rate::default();
        r.sample(1000, 0);
        // 100 ops per 100 ms = 1000/s, in one slot of sixteen.
        r.sample(1100, 100);
        assert_eq!(r.per_second(), 1000 / 16);
        for i in 2..=16 {
            r.sample(1000 + i * 100, i as u64 * 100);
        }
        assert_eq!(r.per_second(), 1000);
    }
}
