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

/// Stat slots: one per command of the table, then one per implemented
/// subcommand (`table::SUBCOMMANDS`), named as Redis names their stats
/// (`cmdstat_client|id`). A subcommand kv-server lacks gets no slot: like an
/// unknown subcommand in Redis, it is rejected before any call.
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
        for c in all {
            let prefix = format!("{}|", c.name);
            let start = names.len();
            names.extend(
                table::SUBCOMMANDS
                    .iter()
                    .filter(|full| full.starts_with(&prefix))
                    .map(|full| full.to_string()),
            );
            if names.len() > start {
                subs[table::id(c)] = Some((start, names.len()));
            }
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
            // A container run without a subcommand (plain COMMAND) counts as itself.
            let Some(sub) = argv.get(1) else {
                return Some(id);
            };
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
pub fn full_name(cmd: &'static Command, slot: Option<usize>) -> &'static str {
    match slot {
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
    /// Per slot, created on the slot's first call (INFO latencystats,
    /// LATENCY HISTOGRAM).
    latencies: Vec<Option<Box<Histogram>>>,
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

    pub fn called(&mut self, i: usize, nanos: u64, failed: bool) {
        if let Some(s) = self.slot(i) {
            s.calls += 1;
            s.usec += nanos / 1000;
            s.failed += failed as u64;
            if self.latencies.len() <= i {
                self.latencies.resize_with(self.slots.len(), || None);
            }
            if let Some(h) = self.latencies.get_mut(i) {
                h.get_or_insert_with(Default::default).record(nanos);
            }
        }
    }

    /// Slots with a latency histogram, with their stat names.
    pub fn histograms(&self) -> impl Iterator<Item = (&'static str, &Histogram)> {
        let names = &slots().names;
        self.latencies
            .iter()
            .zip(names)
            .filter_map(|(h, n)| h.as_deref().map(|h| (n.as_str(), h)))
    }

    /// `# Latencystats` lines: p50, p99 and p99.9 in microseconds.
    pub fn render_latencies(&self, o: &mut String) {
        for (name, h) in self.histograms() {
            let us = |q: f64| h.percentile(q) as f64 / 1000.0;
            let _ = write!(
                o,
                "latency_percentiles_usec_{name}:p50={:.3},p99={:.3},p99.9={:.3}\r\n",
                us(50.0),
                us(99.0),
                us(99.9)
            );
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

/// Sub-buckets per power of two: values are kept to about two significant
/// digits, like Redis' HDR histograms.
const SUB_BUCKET_BITS: u32 = 4;
const SUB_BUCKETS: usize = 1 << SUB_BUCKET_BITS;
const BUCKETS: usize = (64 - SUB_BUCKET_BITS as usize + 1) * SUB_BUCKETS;

/// A log-linear histogram of nanosecond durations.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    pub total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < SUB_BUCKETS as u64 {
        return v as usize;
    }
    let top_bit = 63 - v.leading_zeros();
    let shift = top_bit - SUB_BUCKET_BITS;
    let sub = (v >> shift) as usize & (SUB_BUCKETS - 1);
    (shift as usize + 1) * SUB_BUCKETS + sub
}

/// The highest value that falls in a bucket.
fn bucket_top(b: usize) -> u64 {
    if b < SUB_BUCKETS {
        return b as u64;
    }
    let shift = (b / SUB_BUCKETS - 1) as u32;
    let sub = b % SUB_BUCKETS;
    // In u128: the top bucket's bound is 2^64.
    let top = ((SUB_BUCKETS as u128 + sub as u128 + 1) << shift) - 1;
    u64::try_from(top).unwrap_or(u64::MAX)
}

impl Histogram {
    pub fn record(&mut self, v: u64) {
        self.counts[bucket_of(v)] += 1;
        self.total += 1;
    }

    /// The value at or under which `q` percent of the samples fall.
    pub fn percentile(&self, q: f64) -> u64 {
        let wanted = ((q / 100.0 * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                return bucket_top(b);
            }
        }
        0
    }

    /// LATENCY HISTOGRAM's cumulative counts at 1, 2, 4, 8... microseconds
    /// (1024 ns doubling, as Redis iterates), listing only the steps where
    /// the count grows.
    pub fn cumulative_pow2_usec(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut limit: u64 = 1024;
        let mut seen = 0;
        let mut b = 0;
        while seen < self.total && limit > 0 {
            let before = seen;
            while b < BUCKETS && bucket_top(b) <= limit {
                seen += self.counts[b];
                b += 1;
            }
            if seen > before {
                out.push((limit / 1000, seen));
            }
            limit = limit.checked_mul(2).unwrap_or(0);
        }
        out
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
        s.called(get, 10_000, false);
        s.called(get, 5_000, true);
        s.rejected(get);
        let mut o = String::new();
        s.render(&mut o);
        assert_eq!(
            o,
            "cmdstat_get:calls=2,usec=15,usec_per_call=7.50,rejected_calls=1,failed_calls=1\r\n"
        );
    }

    #[test]
    fn histogram_percentiles_within_two_digits() {
        let mut h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let p50 = h.percentile(50.0) as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.07, "p50 {p50}");
        let p99 = h.percentile(99.0) as f64;
        assert!((p99 - 990_000.0).abs() / 990_000.0 < 0.07, "p99 {p99}");
        assert!(h.percentile(100.0) >= 1_000_000);
        for v in [0u64, 5, 15, 16, 17, 1000, 123_456_789, u64::MAX] {
            assert!(bucket_top(bucket_of(v)) >= v, "{v}");
        }
        let cdf = h.cumulative_pow2_usec();
        assert_eq!(cdf.first(), Some(&(1, 1)));
        assert_eq!(cdf.last().map(|c| c.1), Some(1000));
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
