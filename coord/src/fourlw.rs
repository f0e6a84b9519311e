//! Four-letter words (`echo ruok | nc host port`), answered in the formats
//! of ZooKeeper 3.8 so scripts that parse them keep working.

use crate::config::Config;
use crate::tree::DataTree;
use crate::watches::{ConnId, Watches};
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::Duration;

pub const VERSION: &str = "3.8.0-coord-0.1.0, built on 2026-01-01 00:00 UTC";

pub struct ConnInfo {
    pub id: ConnId,
    pub addr: SocketAddr,
    pub session: i64,
    pub timeout_ms: i32,
    pub received: u64,
    pub sent: u64,
}

/// What the words report, gathered by the core when one arrives.
pub struct ServerView<'a> {
    pub cfg: &'a Config,
    pub tree: &'a DataTree,
    pub watches: &'a Watches,
    pub conns: Vec<ConnInfo>,
    pub received: u64,
    pub sent: u64,
    pub sessions: Vec<(i64, i32)>,
    pub uptime: Duration,
    /// Request latency (min, avg, max) in milliseconds.
    pub latency_ms: (f64, f64, f64),
}

/// The word as a four-byte frame length, which is how ZooKeeper spots it.
pub fn word_of(len_bytes: [u8; 4]) -> Option<String> {
    let word = std::str::from_utf8(&len_bytes).ok()?;
    crate::config::FOUR_LETTER_WORDS.contains(&word).then(|| word.to_string())
}

/// The answer to `word`; words not in the whitelist get ZooKeeper's refusal.
pub fn render(word: &str, v: &ServerView) -> String {
    if !v.cfg.four_letter_words.contains(word) {
        return format!("{word} is not executed because it is not in the whitelist.\n");
    }
    match word {
        "ruok" => "imok".to_string(),
        "isro" => "rw".to_string(),
        "srvr" => srvr(v, false),
        "stat" => srvr(v, true),
        "cons" => cons(v),
        "mntr" => mntr(v),
        "conf" => conf(v),
        "envi" => envi(),
        "wchs" => {
            let (conns, paths, total) = v.watches.summary();
            format!("{conns} connections watching {paths} paths\nTotal watches:{total}\n")
        }
        "wchc" => wchc(v),
        "dump" => dump(v),
        _ => format!("{word} is not executed because it is not in the whitelist.\n"),
    }
}

fn conn_line(c: &ConnInfo) -> String {
    format!(
        " /{}[1](queued=0,recved={},sent={},sid=0x{:x},lop=NA,est=0,to={})\n",
        c.addr, c.received, c.sent, c.session, c.timeout_ms
    )
}

fn srvr(v: &ServerView, with_clients: bool) -> String {
    let mut s = format!("Zookeeper version: {VERSION}\n");
    if with_clients {
        s.push_str("Clients:\n");
        for c in &v.conns {
            s.push_str(&conn_line(c));
        }
        s.push('\n');
    }
    let _ = write!(
        s,
        "Latency min/avg/max: {:.0}/{:.4}/{:.0}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: 0\nZxid: 0x{:x}\nMode: standalone\nNode count: {}\n",
        v.latency_ms.0,
        v.latency_ms.1,
        v.latency_ms.2,
        v.received,
        v.sent,
        v.conns.len(),
        v.tree.last_zxid,
        v.tree.node_count()
    );
    s
}

fn cons(v: &ServerView) -> String {
    let mut s: String = v.conns.iter().map(conn_line).collect();
    s.push('\n');
    s
}

fn mntr(v: &ServerView) -> String {
    let (_, paths, watches) = v.watches.summary();
    let ephemerals: usize = v.tree.sessions_with_ephemerals().map(|(_, s)| s.len()).sum();
    let lines: Vec<(&str, String)> = vec![
        ("zk_version", VERSION.to_string()),
        ("zk_server_state", "standalone".into()),
        ("zk_avg_latency", format!("{:.4}", v.latency_ms.1)),
        ("zk_max_latency", format!("{:.0}", v.latency_ms.2)),
        ("zk_min_latency", format!("{:.0}", v.latency_ms.0)),
        ("zk_packets_received", v.received.to_string()),
        ("zk_packets_sent", v.sent.to_string()),
        ("zk_num_alive_connections", v.conns.len().to_string()),
        ("zk_outstanding_requests", "0".into()),
        ("zk_znode_count", v.tree.node_count().to_string()),
        ("zk_watch_count", watches.to_string()),
        ("zk_watched_paths", paths.to_string()),
        ("zk_ephemerals_count", ephemerals.to_string()),
        ("zk_global_sessions", v.sessions.len().to_string()),
        ("zk_uptime", v.uptime.as_millis().to_string()),
        ("zk_last_zxid", format!("0x{:x}", v.tree.last_zxid)),
    ];
    lines.into_iter().map(|(k, val)| format!("{k}\t{val}\n")).collect()
}

fn conf(v: &ServerView) -> String {
    let c = v.cfg;
    let mut s = format!(
        "clientPort={}\ndataDir={}\ndataLogDir={}\ntickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\nmaxSessionTimeout={}\n",
        c.client_port,
        c.data_dir.display(),
        c.data_log_dir.display(),
        c.tick_ms,
        c.max_client_cnxns,
        c.negotiate_timeout(0),
        c.negotiate_timeout(i32::MAX)
    );
    let _ = writeln!(s, "serverId={}", c.myid.unwrap_or(0));
    if !c.servers.is_empty() {
        let _ = writeln!(s, "initLimit={}\nsyncLimit={}", c.init_limit, c.sync_limit);
        for (id, addr) in &c.servers {
            let _ = writeln!(s, "server.{id}={addr}");
        }
    }
    s
}

fn envi() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!(
        "Environment:\nzookeeper.version={VERSION}\nhost.name={}\nos.name={}\nos.arch={}\nuser.dir={}\n",
        host.trim(),
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default()
    )
}

fn wchc(v: &ServerView) -> String {
    let mut s = String::new();
    for (conn, paths) in v.watches.by_connection() {
        let session = v.conns.iter().find(|c| c.id == conn).map_or(0, |c| c.session);
        let _ = writeln!(s, "0x{session:x}");
        for p in paths {
            let _ = writeln!(s, "\t{p}");
        }
    }
    s
}

fn dump(v: &ServerView) -> String {
    let mut s = format!("SessionTracker dump:\nGlobal Sessions({}):\n", v.sessions.len());
    for (id, timeout) in &v.sessions {
        let _ = writeln!(s, "0x{id:x}\t{timeout}ms");
    }
    let with: Vec<_> = v.tree.sessions_with_ephemerals().collect();
    let _ = writeln!(s, "ephemeral nodes dump:\nSessions with Ephemerals ({}):", with.len());
    for (id, paths) in with {
        let _ = writeln!(s, "0x{id:x}:");
        for p in paths {
            let _ = writeln!(s, "\t{p}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spots_words_in_the_length_field() {
        assert_eq!(word_of(*b"ruok").as_deref(), Some("ruok"));
        assert_eq!(word_of([0, 0, 0, 44]), None);
        assert_eq!(word_of(*b"xxxx"), None);
    }

    #[test]
    fn whitelist_is_honoured() {
        let mut cfg = Config::parse("4lw.commands.whitelist=srvr").unwrap();
        let tree = DataTree::new();
        let watches = Watches::default();
        let view = |cfg: &Config| {
            render(
                "ruok",
                &ServerView {
                    cfg,
                    tree: &tree,
                    watches: &watches,
                    conns: vec![],
                    received: 0,
                    sent: 0,
                    sessions: vec![],
                    uptime: Duration::ZERO,
                    latency_ms: (0.0, 0.0, 0.0),
                },
            )
        };
        assert_eq!(view(&cfg), "ruok is not executed because it is not in the whitelist.\n");
        cfg = Config::parse("").unwrap();
        assert_eq!(view(&cfg), "imok");
    }
}
