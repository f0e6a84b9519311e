//! INFO: Redis' sections and field names, filled with our own numbers.

use crate::alloc::used_memory;
use crate::cmd::server::REDIS_VERSION;
use crate::db::Store;
use crate::stats::{NET_INPUT_BYTES, NET_OUTPUT_BYTES};
use crate::types::Value;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// Every section, in the order Redis prints them whatever the request order.
const ALL_SECTIONS: [&str; 13] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// What plain INFO (or INFO default) shows: all but the per-command ones.
fn is_default(section: &str) -> bool {
    !matches!(section, "commandstats" | "latencystats")
}

/// The sections a request names: `all`/`everything` = every section,
/// `default` = the default set, anything else its own name (unknown names
/// select nothing).
pub fn wanted_sections(args: &[String]) -> Vec<&'static str> {
    let mut wanted = vec![false; ALL_SECTIONS.len()];
    if args.is_empty() {
        for (w, s) in wanted.iter_mut().zip(ALL_SECTIONS) {
            *w = is_default(s);
        }
    }
    for a in args {
        for (w, s) in wanted.iter_mut().zip(ALL_SECTIONS) {
            match a.as_str() {
                "all" | "everything" => *w = true,
                "default" => *w |= is_default(s),
                name => *w |= name == s,
            }
        }
    }
    ALL_SECTIONS
        .iter()
        .zip(wanted)
        .filter(|(_, w)| *w)
        .map(|(s, _)| *s)
        .collect()
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", b / 1024.0 / 1024.0 / 1024.0)
    }
}

pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn cpu_times() -> (f64, f64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

/// Renders the requested sections (none = the default set).
pub fn render(store: &Store, sections: &[String], now: i64) -> String {
    let mut out = String::new();
    for sec in wanted_sections(sections) {
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(store, sec, now, &mut out);
    }
    out
}

fn section(s: &Store, name: &str, now: i64, o: &mut String) {
    let uptime = (now - s.start_ms) / 1000;
    let st = &s.stats;
    match name {
        "server" => {
            let _ = write!(
                o,
                "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\nprocess_id:{}\r\nrun_id:{:040x}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:kv-server\r\nconfig_file:\r\nio_threads_active:0\r\n",
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::process::id(),
                s.start_ms as u128 * 7919,
                s.config.port,
                now * 1000,
                uptime / 86400,
                s.config.hz,
                s.config.hz,
                crate::db::lru_clock(now)
            );
        }
        "clients" => {
            let blocked = s.blocking.waiters.len();
            let _ = write!(
                o,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{blocked}\r\ntracking_clients:0\r\nclients_in_timeout_table:{blocked}\r\n",
                s.clients.map.len(),
                s.config.maxclients
            );
        }
        "memory" => {
            let used = used_memory() as u64;
            let rss = rss_bytes();
            let _ = write!(
                o,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{used}\r\nused_memory_peak_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_allocator:libc\r\nlazyfree_pending_objects:0\r\n",
                human(used),
                human(rss),
                human(used),
                s.config.maxmemory,
                human(s.config.maxmemory),
                s.config.maxmemory_policy.name(),
                if used > 0 { rss as f64 / used as f64 } else { 0.0 }
            );
        }
        "persistence" => {
            let _ = write!(
                o,
                "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_last_bgrewrite_status:ok\r\naof_last_write_status:ok\r\n",
                st.dirty,
                s.start_ms / 1000
            );
        }
        "stats" => {
            let _ = write!(
                o,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ninstantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\ntotal_error_replies:{}\r\n",
                st.total_connections_received,
                st.total_commands_processed,
                st.rates.ops.per_second(),
                NET_INPUT_BYTES.load(Ordering::Relaxed),
                NET_OUTPUT_BYTES.load(Ordering::Relaxed),
                st.rates.input.per_second() as f64 / 1024.0,
                st.rates.output.per_second() as f64 / 1024.0,
                st.rejected_connections,
                st.expired_keys,
                st.evicted_keys,
                st.keyspace_hits,
                st.keyspace_misses,
                s.pubsub.channels.len(),
                s.pubsub.numpat(),
                st.total_error_replies
            );
        }
        "replication" => {
            o.push_str("# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nrepl_backlog_active:0\r\n");
        }
        "cpu" => {
            let (sys, user) = cpu_times();
            let _ = write!(
                o,
                "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\n"
            );
        }
        "modules" => o.push_str("# Modules\r\n"),
        "commandstats" => {
            o.push_str("# Commandstats\r\n");
            st.commands.render(o);
        }
        "errorstats" => {
            o.push_str("# Errorstats\r\n");
            st.errors.render(o);
        }
        "latencystats" => {
            o.push_str("# Latencystats\r\n");
            st.commands.render_latencies(o);
        }
        "cluster" => o.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            o.push_str("# Keyspace\r\n");
            for (i, d) in s.dbs.iter().enumerate() {
                if !d.keys.is_empty() {
                    let _ = write!(
                        o,
                        "db{i}:keys={},expires={},avg_ttl=0\r\n",
                        d.keys.len(),
                        d.expires.len()
                    );
                }
            }
        }
        _ => {}
    }
}

/// MEMORY USAGE: an estimate of the bytes one key holds.
pub fn estimate_entry_size(key: &[u8], v: &Value) -> usize {
    let base = 72 + key.len();
    base + match v {
        Value::Int(_) => 0,
        Value::Embstr(s) | Value::Raw(s) => s.len(),
        Value::List(l) => l.iter().map(|e| e.len() + 24).sum(),
        Value::Hash(h) => h.map.iter().map(|(f, x)| f.len() + x.len() + 56).sum(),
        Value::Set(s) => s.len() * 40,
        Value::ZSet(z) => z.len() * 96,
        Value::Bloom(b) => b.size_bytes() as usize,
    }
}
