//! The health verdicts as a small text file, so that other tools
//! (`lbctl -L -n`) can show them without talking to lbd:
//! `/run/lbd/<instance>.health`, one line per checked real server:
//!
//! ```text
//! TCP 198.18.0.100:6379 198.18.0.21:6379 DOWN redis_ping failed 3 time(s) in a row: ...
//! ```
//!
//! Rewritten whole (temp file + rename) on every transition, so readers
//! never see half a file.

use super::health::RealKey;
use crate::services::{Protocol, ServiceAddr};
use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};

pub const DIR: &str = "/run/lbd";

/// Where lbd instance `instance` keeps its health file.
pub fn path(instance: &str) -> PathBuf {
    Path::new(DIR).join(format!("{instance}.health"))
}

pub type Verdicts = BTreeMap<RealKey, (bool, String)>;

pub fn render(verdicts: &Verdicts) -> String {
    let mut out = String::new();
    for (k, (up, reason)) in verdicts {
        let reason = reason.replace('\n', " ");
        out.push_str(&format!(
            "{} {}:{} {}:{} {} {reason}\n",
            k.service.proto.name(),
            k.service.vip,
            k.service.port,
            k.ip,
            k.port,
            if *up { "UP" } else { "DOWN" }
        ));
    }
    out
}

/// Parses what `render` wrote; lines that do not parse are skipped.
pub fn parse(text: &str) -> Verdicts {
    let mut out = Verdicts::new();
    for line in text.lines() {
        let mut words = line.splitn(5, ' ');
        let (Some(proto), Some(vs), Some(rs), Some(verdict)) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            continue;
        };
        let proto = match proto {
            "TCP" => Protocol::Tcp,
            "UDP" => Protocol::Udp,
            _ => continue,
        };
        let (Ok(vs), Ok(rs)) = (vs.parse::<SocketAddrV4>(), rs.parse::<SocketAddrV4>()) else {
            continue;
        };
        let key = RealKey {
            service: ServiceAddr::new(*vs.ip(), vs.port(), proto),
            ip: *rs.ip(),
            port: rs.port(),
        };
        let reason = words.next().unwrap_or("").to_string();
        out.insert(key, (verdict == "UP", reason));
    }
    out
}

/// Writes the file atomically.
pub fn write(path: &Path, verdicts: &Verdicts) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("health.tmp");
    std::fs::write(&tmp, render(verdicts))?;
    std::fs::rename(&tmp, path)
}

/// Reads an instance's verdicts; empty when lbd is not running there.
pub fn read(path: &Path) -> Verdicts {
    std::fs::read_to_string(path)
        .map(|t| parse(&t))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn verdicts_round_trip_through_the_file() {
        let mut v = Verdicts::new();
        let service = ServiceAddr::new(Ipv4Addr::new(198, 18, 0, 100), 6379, Protocol::Tcp);
        v.insert(
            RealKey {
                service,
                ip: Ipv4Addr::new(198, 18, 0, 21),
                port: 6379,
            },
            (
                false,
                "redis_ping failed 3 time(s) in a row: replied `-LOADING`".into(),
            ),
        );
        v.insert(
            RealKey {
                service,
                ip: Ipv4Addr::new(198, 18, 0, 22),
                port: 6379,
            },
            (true, "not checked yet".into()),
        );
        let dir = std::env::temp_dir().join(format!("lbd-health-{}", std::process::id()));
        let file = dir.join("t.health");
        write(&file, &v).unwrap();
        assert_eq!(read(&file), v);
        assert!(std::fs::read_to_string(&file)
            .unwrap()
            .starts_with("TCP 198.18.0.100:6379 198.18.0.21:6379 DOWN redis_ping failed"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read(&file).is_empty());
    }
}
