//! Server options: parsed from `kv-server [redis.conf] [--option value ...]`
//! and read or changed at run time by CONFIG GET/SET.

use crate::types::Thresholds;
use std::collections::BTreeMap;

/// The eight `maxmemory-policy` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictionPolicy {
    NoEviction,
    AllKeysLru,
    VolatileLru,
    AllKeysLfu,
    VolatileLfu,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
}

impl EvictionPolicy {
    pub const ALL: [(&'static str, EvictionPolicy); 8] = [
        ("noeviction", EvictionPolicy::NoEviction),
        ("allkeys-lru", EvictionPolicy::AllKeysLru),
        ("volatile-lru", EvictionPolicy::VolatileLru),
        ("allkeys-lfu", EvictionPolicy::AllKeysLfu),
        ("volatile-lfu", EvictionPolicy::VolatileLfu),
        ("allkeys-random", EvictionPolicy::AllKeysRandom),
        ("volatile-random", EvictionPolicy::VolatileRandom),
        ("volatile-ttl", EvictionPolicy::VolatileTtl),
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, p)| *p)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, p)| *p == self)
            .map(|(n, _)| *n)
            .expect("listed")
    }

    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu
        )
    }

    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            EvictionPolicy::VolatileLru
                | EvictionPolicy::VolatileLfu
                | EvictionPolicy::VolatileRandom
                | EvictionPolicy::VolatileTtl
        )
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    pub bind: String,
    pub databases: usize,
    pub requirepass: Option<String>,
    pub maxmemory: u64,
    pub maxmemory_policy: EvictionPolicy,
    pub maxmemory_samples: usize,
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: usize,
    pub hz: u32,
    /// Worker threads of the runtime (I/O and parsing run on all of them).
    pub io_threads: usize,
    pub thresholds: Thresholds,
    /// Seconds a client may stay idle before it is closed (0 = never).
    pub timeout: u64,
    pub maxclients: u64,
    pub protected_mode: bool,
    /// Microseconds; -1 turns the slow log off, 0 logs every command.
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    /// Milliseconds; 0 turns the latency monitor off.
    pub latency_monitor_threshold: u64,
    /// Options we accept and report but that do not change behaviour yet
    /// (persistence, replication, logging...).
    pub passive: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        let passive = [
            ("dbfilename", "dump.rdb"),
            ("appendonly", "no"),
            ("appendfsync", "everysec"),
            ("appendfilename", "appendonly.aof"),
            ("save", "3600 1 300 100 60 10000"),
            ("replicaof", ""),
            ("loglevel", "notice"),
            ("logfile", ""),
            ("daemonize", "no"),
            ("stop-writes-on-bgsave-error", "yes"),
            ("tcp-keepalive", "300"),
            ("list-max-listpack-size", "-2"),
            ("list-compress-depth", "0"),
            ("lazyfree-lazy-eviction", "no"),
            ("lazyfree-lazy-expire", "no"),
            ("notify-keyspace-events", ""),
            ("tcp-backlog", "511"),
            ("pidfile", ""),
            ("rdbcompression", "yes"),
            ("repl-diskless-sync", "yes"),
            ("maxmemory-eviction-tenacity", "10"),
            ("maxmemory-clients", "0"),
            ("enable-debug-command", "no"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Config {
            port: 6379,
            bind: "* -::*".into(),
            databases: 16,
            requirepass: None,
            maxmemory: 0,
            maxmemory_policy: EvictionPolicy::NoEviction,
            maxmemory_samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            hz: 10,
            // Measured on 2 cores shared with redis-benchmark: one event loop
            // (no lock hand-offs between threads) beats two threads.
            io_threads: 1,
            thresholds: Thresholds::default(),
            timeout: 0,
            maxclients: 10000,
            protected_mode: true,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            passive,
        }
    }
}

/// Parses memory sizes as Redis does: 100, 1k (1000), 1kb (1024), 1gb...
pub fn parse_memory(s: &str) -> Option<u64> {
    let l = s.to_ascii_lowercase();
    let units: [(&str, u64); 8] = [
        ("kb", 1024),
        ("mb", 1024 * 1024),
        ("gb", 1024 * 1024 * 1024),
        ("k", 1000),
        ("m", 1000 * 1000),
        ("g", 1000 * 1000 * 1000),
        ("b", 1),
        ("", 1),
    ];
    for (suffix, mul) in units {
        if let Some(num) = l.strip_suffix(suffix) {
            if num.is_empty() {
                continue;
            }
            return num.parse::<u64>().ok().and_then(|n| n.checked_mul(mul));
        }
    }
    None
}

/// An integer option within Redis' bounds, with Redis' error wording.
fn bounded(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let n = crate::util::parse_i64_strict(value.as_bytes())
        .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// Names of the options CONFIG GET can show, typed ones first.
const TYPED: &[&str] = &[
    "port",
    "bind",
    "databases",
    "dir",
    "requirepass",
    "maxmemory",
    "maxmemory-policy",
    "maxmemory-samples",
    "lfu-log-factor",
    "lfu-decay-time",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "hz",
    "io-threads",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "hash-max-ziplist-entries",
    "hash-max-ziplist-value",
    "set-max-intset-entries",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "zset-max-ziplist-entries",
    "zset-max-ziplist-value",
    "timeout",
    "maxclients",
    "protected-mode",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "latency-monitor-threshold",
];

/// strerror's text, as Redis prints it: "No such file or directory".
fn os_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

impl Config {
    pub fn names(&self) -> Vec<String> {
        TYPED
            .iter()
            .map(|s| s.to_string())
            .chain(self.passive.keys().cloned())
            .collect()
    }

    pub fn get(&self, name: &str) -> Option<String> {
        let t = &self.thresholds;
        Some(match name {
            "port" => self.port.to_string(),
            "bind" => self.bind.clone(),
            "databases" => self.databases.to_string(),
            "requirepass" => self.requirepass.clone().unwrap_or_default(),
            "maxmemory" => self.maxmemory.to_string(),
            "maxmemory-policy" => self.maxmemory_policy.name().into(),
            "maxmemory-samples" => self.maxmemory_samples.to_string(),
            "lfu-log-factor" => self.lfu_log_factor.to_string(),
            "lfu-decay-time" => self.lfu_decay_time.to_string(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "client-query-buffer-limit" => self.client_query_buffer_limit.to_string(),
            "hz" => self.hz.to_string(),
            "io-threads" => self.io_threads.to_string(),
            // Redis reports the working directory, which `dir` changed at startup.
            "dir" => std::env::current_dir()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_default(),
            "hash-max-listpack-entries" | "hash-max-ziplist-entries" => {
                t.hash_max_listpack_entries.to_string()
            }
            "hash-max-listpack-value" | "hash-max-ziplist-value" => {
                t.hash_max_listpack_value.to_string()
            }
            "set-max-intset-entries" => t.set_max_intset_entries.to_string(),
            "zset-max-listpack-entries" | "zset-max-ziplist-entries" => {
                t.zset_max_listpack_entries.to_string()
            }
            "zset-max-listpack-value" | "zset-max-ziplist-value" => {
                t.zset_max_listpack_value.to_string()
            }
            "timeout" => self.timeout.to_string(),
            "maxclients" => self.maxclients.to_string(),
            "protected-mode" => if self.protected_mode { "yes" } else { "no" }.into(),
            "slowlog-log-slower-than" => self.slowlog_log_slower_than.to_string(),
            "slowlog-max-len" => self.slowlog_max_len.to_string(),
            "latency-monitor-threshold" => self.latency_monitor_threshold.to_string(),
            other => return self.passive.get(other).cloned(),
        })
    }

    /// Sets one option. `startup` allows options that can't change at run time.
    pub fn set(&mut self, name: &str, value: &str, startup: bool) -> Result<(), String> {
        let name = name.to_ascii_lowercase();
        let bad = || "argument couldn't be parsed into an integer".to_string();
        let num = |v: &str| v.parse::<u64>().map_err(|_| bad());
        let t = &mut self.thresholds;
        match name.as_str() {
            "port" if startup => self.port = value.parse().map_err(|_| bad())?,
            "bind" if startup => self.bind = value.into(),
            "databases" if startup => {
                let n = num(value)? as usize;
                if n == 0 {
                    return Err("argument must be between 1 and 2147483647 inclusive".into());
                }
                self.databases = n;
            }
            "io-threads" if startup => self.io_threads = (num(value)? as usize).clamp(1, 128),
            "port" | "bind" | "databases" | "io-threads" => return Err("can't set immutable config".into()),
            "enable-debug-command" | "dir" if !startup => return Err("can't set protected config".into()),
            // As Redis: `dir` is where the server runs (and will keep its files).
            "dir" => std::env::set_current_dir(value).map_err(|e| os_error_text(&e))?,
            "requirepass" => self.requirepass = if value.is_empty() { None } else { Some(value.into()) },
            "maxmemory" => self.maxmemory = parse_memory(value).ok_or_else(|| "argument must be a memory value".to_string())?,
            "maxmemory-policy" => {
                self.maxmemory_policy = EvictionPolicy::parse(value).ok_or_else(|| "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction".to_string())?
            }
            "maxmemory-samples" => self.maxmemory_samples = (num(value)? as usize).clamp(1, 64),
            "lfu-log-factor" => self.lfu_log_factor = num(value)? as u32,
            "lfu-decay-time" => self.lfu_decay_time = num(value)? as u32,
            "proto-max-bulk-len" => {
                self.proto_max_bulk_len = parse_memory(value).ok_or_else(|| "argument must be a memory value".to_string())? as i64
            }
            "client-query-buffer-limit" => {
                self.client_query_buffer_limit =
                    parse_memory(value).ok_or_else(|| "argument must be a memory value".to_string())? as usize
            }
            "hz" => self.hz = (num(value)? as u32).clamp(1, 500),
            "hash-max-listpack-entries" | "hash-max-ziplist-entries" => t.hash_max_listpack_entries = num(value)? as usize,
            "hash-max-listpack-value" | "hash-max-ziplist-value" => t.hash_max_listpack_value = num(value)? as usize,
            "set-max-intset-entries" => t.set_max_intset_entries = num(value)? as usize,
            "zset-max-listpack-entries" | "zset-max-ziplist-entries" => t.zset_max_listpack_entries = num(value)? as usize,
            "zset-max-listpack-value" | "zset-max-ziplist-value" => t.zset_max_listpack_value = num(value)? as usize,
            "timeout" => self.timeout = bounded(value, 0, i32::MAX as i64)? as u64,
            "maxclients" => self.maxclients = bounded(value, 1, u32::MAX as i64)? as u64,
            "protected-mode" => {
                self.protected_mode = parse_bool(value).ok_or_else(|| "argument must be 'yes' or 'no'".to_string())?
            }
            "slowlog-log-slower-than" => self.slowlog_log_slower_than = bounded(value, -1, i64::MAX)?,
            "slowlog-max-len" => self.slowlog_max_len = bounded(value, 0, i64::MAX)? as u64,
            "latency-monitor-threshold" => self.latency_monitor_threshold = bounded(value, 0, i64::MAX)? as u64,
            "appendonly" | "daemonize" | "stop-writes-on-bgsave-error" => {
                parse_bool(value).ok_or_else(|| "argument must be 'yes' or 'no'".to_string())?;
                self.passive.insert(name, value.to_ascii_lowercase());
            }
            other if self.passive.contains_key(other) => {
                self.passive.insert(name, value.into());
            }
            _ => return Err("unknown option".into()),
        }
        Ok(())
    }

    /// Parses the command line: an optional config file, then `--name value...`.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut cfg = Config::default();
        let mut i = 0;
        if let Some(first) = args.first() {
            if !first.starts_with("--") {
                let text = std::fs::read_to_string(first)
                    .map_err(|e| format!("can't read config file {first}: {e}"))?;
                cfg.load_text(&text)?;
                i = 1;
            }
        }
        while i < args.len() {
            let name = args[i]
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument '{}'", args[i]))?;
            let mut values = Vec::new();
            i += 1;
            while i < args.len() && !args[i].starts_with("--") {
                values.push(args[i].clone());
                i += 1;
            }
            cfg.set(name, &values.join(" "), true)
                .map_err(|e| format!("option '{name}': {e}"))?;
        }
        Ok(cfg)
    }

    /// Reads redis.conf-style text: `name value...` per line, `#` comments.
    pub fn load_text(&mut self, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let parts = crate::util::split_args(line.as_bytes())
                .ok_or_else(|| format!("line {}: unbalanced quotes", n + 1))?;
            let parts: Vec<String> = parts
                .into_iter()
                .map(|p| String::from_utf8_lossy(&p).into_owned())
                .collect();
            if let Some((name, rest)) = parts.split_first() {
                self.set(name, &rest.join(" "), true)
                    .map_err(|e| format!("line {}: '{name}': {e}", n + 1))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_options() {
        let args: Vec<String> = [
            "--port",
            "7000",
            "--save",
            "",
            "--maxmemory",
            "1mb",
            "--maxmemory-policy",
            "allkeys-lfu",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let c = Config::from_args(&args).unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.maxmemory, 1024 * 1024);
        assert_eq!(c.get("save").unwrap(), "");
        assert!(c.maxmemory_policy.is_lfu());
        assert!(Config::from_args(&["--nope".to_string(), "1".to_string()]).is_err());
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("x"), None);
    }
}
