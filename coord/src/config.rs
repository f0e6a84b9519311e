//! zoo.cfg and `myid`, read the way ZooKeeper reads them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Four-letter words this server knows.
pub const FOUR_LETTER_WORDS: [&str; 11] =
    ["ruok", "srvr", "stat", "mntr", "cons", "conf", "envi", "wchs", "wchc", "dump", "isro"];

#[derive(Debug, Clone)]
pub struct Config {
    pub tick_ms: u64,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    pub client_port: u16,
    pub client_port_address: Option<IpAddr>,
    pub init_limit: u32,
    pub sync_limit: u32,
    /// server.N = host:peerPort:electionPort, kept for the replicated ensemble.
    pub servers: BTreeMap<u64, String>,
    /// The enabled four-letter words.
    pub four_letter_words: BTreeSet<String>,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// Transactions between snapshots.
    pub snap_count: u64,
    pub max_client_cnxns: usize,
    /// fsync the log before replying (`forceSync`).
    pub force_sync: bool,
    /// Largest frame a client may send (`jute.maxbuffer`).
    pub max_buffer: usize,
    /// How often empty containers and expired TTL nodes are collected.
    pub container_check_ms: u64,
    pub myid: Option<u64>,
    /// Every key=value as read, for the `conf` command.
    pub raw: Vec<(String, String)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tick_ms: 2000,
            data_dir: PathBuf::from("/var/lib/coord"),
            data_log_dir: PathBuf::from("/var/lib/coord"),
            client_port: 2181,
            client_port_address: None,
            init_limit: 10,
            sync_limit: 5,
            servers: BTreeMap::new(),
            // ZooKeeper 3.8 enables only srvr by default; we enable every
            // word unless zoo.cfg says otherwise, so `ruok` works out of the box.
            four_letter_words: FOUR_LETTER_WORDS.iter().map(|s| s.to_string()).collect(),
            min_session_timeout_ms: -1,
            max_session_timeout_ms: -1,
            snap_count: 100_000,
            max_client_cnxns: 60,
            force_sync: true,
            max_buffer: 0xfffff,
            container_check_ms: 60_000,
            myid: None,
            raw: Vec::new(),
        }
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| format!("zoo.cfg: {key}={value} is not a valid number"))
}

impl Config {
    /// Parses zoo.cfg text. Unknown keys are kept (ZooKeeper turns them into
    /// system properties) but otherwise ignored.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut c = Config::default();
        let mut data_log_dir = None;
        for (lineno, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(format!("zoo.cfg line {}: expected key=value, got {line:?}", lineno + 1));
            };
            let (key, value) = (key.trim(), value.trim());
            c.raw.push((key.to_string(), value.to_string()));
            match key {
                "tickTime" => c.tick_ms = number(key, value)?,
                "dataDir" => c.data_dir = PathBuf::from(value),
                "dataLogDir" => data_log_dir = Some(PathBuf::from(value)),
                "clientPort" => c.client_port = number(key, value)?,
                "clientPortAddress" => c.client_port_address = Some(number(key, value)?),
                "initLimit" => c.init_limit = number(key, value)?,
                "syncLimit" => c.sync_limit = number(key, value)?,
                "minSessionTimeout" => c.min_session_timeout_ms = number(key, value)?,
                "maxSessionTimeout" => c.max_session_timeout_ms = number(key, value)?,
                "snapCount" => c.snap_count = number::<u64>(key, value)?.max(2),
                "maxClientCnxns" => c.max_client_cnxns = number(key, value)?,
                "forceSync" => c.force_sync = value != "no",
                "jute.maxbuffer" => c.max_buffer = number(key, value)?,
                "znode.container.checkIntervalMs" => c.container_check_ms = number::<u64>(key, value)?.max(10),
                "4lw.commands.whitelist" => {
                    let words: Vec<&str> = value.split(',').map(str::trim).filter(|w| !w.is_empty()).collect();
                    c.four_letter_words = if words.contains(&"*") {
                        FOUR_LETTER_WORDS.iter().map(|s| s.to_string()).collect()
                    } else {
                        words.iter().map(|s| s.to_string()).collect()
                    };
                }
                k if k.starts_with("server.") => {
                    let id = number(key, &k["server.".len()..])?;
                    c.servers.insert(id, value.to_string());
                }
                _ => {}
            }
        }
        if c.tick_ms == 0 {
            return Err("zoo.cfg: tickTime must be positive".into());
        }
        c.data_log_dir = data_log_dir.unwrap_or_else(|| c.data_dir.clone());
        Ok(c)
    }

    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Config::parse(&text)
    }

    /// Reads `myid` from dataDir, if there is one.
    pub fn read_myid(&mut self) -> Result<(), String> {
        let path = self.data_dir.join("myid");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let id = text.trim().parse().map_err(|_| format!("{}: {text:?} is not a server id", path.display()))?;
                if !self.servers.is_empty() && !self.servers.contains_key(&id) {
                    return Err(format!("myid {id} has no server.{id} line in zoo.cfg"));
                }
                self.myid = Some(id);
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }

    /// The timeout a client gets: its request clamped to
    /// [minSessionTimeout, maxSessionTimeout], by default [2, 20] ticks.
    pub fn negotiate_timeout(&self, requested_ms: i32) -> i32 {
        let tick = self.tick_ms as i32;
        let min = if self.min_session_timeout_ms > 0 { self.min_session_timeout_ms } else { 2 * tick };
        let max = if self.max_session_timeout_ms > 0 { self.max_session_timeout_ms } else { 20 * tick };
        requested_ms.clamp(min, max.max(min))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zoo_cfg_keys() {
        let c = Config::parse(
            "# comment\ntickTime=500\ndataDir=/tmp/zk\nclientPort=2999\ninitLimit=5\nsyncLimit=2\n\
             server.1=a:2888:3888\nserver.2=b:2888:3888\n4lw.commands.whitelist=ruok, srvr\nforceSync=no\n",
        )
        .unwrap();
        assert_eq!((c.tick_ms, c.client_port, c.init_limit, c.sync_limit), (500, 2999, 5, 2));
        assert_eq!(c.data_log_dir, PathBuf::from("/tmp/zk"));
        assert_eq!(c.servers.len(), 2);
        assert!(c.four_letter_words.contains("ruok") && !c.four_letter_words.contains("stat"));
        assert!(!c.force_sync);
    }

    #[test]
    fn bad_lines_are_errors() {
        assert!(Config::parse("tickTime=abc").is_err());
        assert!(Config::parse("justaword").is_err());
        assert!(Config::parse("tickTime=0").is_err());
    }

    #[test]
    fn timeouts_are_clamped_to_ticks() {
        let c = Config::parse("tickTime=100").unwrap();
        assert_eq!(c.negotiate_timeout(10), 200);
        assert_eq!(c.negotiate_timeout(1000), 1000);
        assert_eq!(c.negotiate_timeout(60_000), 2000);
    }
}
