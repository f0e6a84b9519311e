//! The Prometheus text endpoint (`--metrics ADDR`): VRRP state, health,
//! per-service and per-server counters, conn-table fill.

use super::health::RealKey;
use super::vrrp::machine::State;
use crate::maps::Maps;
use crate::{services, stats};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the daemon knows that the maps do not.
#[derive(Debug, Default, Clone)]
pub struct Status {
    /// instance name → (interface, state, priority).
    pub vrrp: BTreeMap<String, (String, State, u8)>,
    /// real server → (up, last reason).
    pub health: BTreeMap<RealKey, (bool, String)>,
}

pub type Shared<T> = Arc<Mutex<T>>;

fn state_value(s: State) -> u8 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
    }
}

/// The exposition text.
pub fn render(status: &Status, maps: Option<&Maps>) -> String {
    let mut out = String::new();
    let o = &mut out;
    header(
        o,
        "lbd_vrrp_state",
        "gauge",
        "VRRP state: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT",
    );
    for (name, (iface, state, _)) in &status.vrrp {
        let _ = writeln!(
            o,
            "lbd_vrrp_state{{instance=\"{name}\",interface=\"{iface}\",state=\"{}\"}} {}",
            state.name(),
            state_value(*state)
        );
    }
    header(o, "lbd_vrrp_priority", "gauge", "Our VRRP priority");
    for (name, (iface, _, prio)) in &status.vrrp {
        let _ = writeln!(
            o,
            "lbd_vrrp_priority{{instance=\"{name}\",interface=\"{iface}\"}} {prio}"
        );
    }
    header(
        o,
        "lbd_real_server_up",
        "gauge",
        "Health check verdict: 1 up, 0 down",
    );
    for (key, (up, _)) in &status.health {
        let _ = writeln!(
            o,
            "lbd_real_server_up{{{}}} {}",
            real_labels(key),
            u8::from(*up)
        );
    }
    if let Some(maps) = maps {
        if let Err(e) = render_maps(o, maps) {
            let _ = writeln!(o, "# error reading the maps: {e}");
        }
    }
    out
}

fn header(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn service_labels(a: &services::ServiceAddr) -> String {
    format!(
        "vip=\"{}\",port=\"{}\",protocol=\"{}\"",
        a.vip,
        a.port,
        a.proto.name()
    )
}

fn real_labels(k: &RealKey) -> String {
    format!(
        "{},real=\"{}:{}\"",
        service_labels(&k.service),
        k.ip,
        k.port
    )
}

fn render_maps(o: &mut String, maps: &Maps) -> crate::Result<()> {
    let list = services::list(maps)?;
    let mut service_lines = Vec::new();
    let mut real_lines = Vec::new();
    for s in &list {
        let c = stats::service(maps, s.id)?;
        service_lines.push((service_labels(&s.addr), c));
        for r in &s.reals {
            let key = RealKey {
                service: s.addr,
                ip: r.addr,
                port: r.port,
            };
            let c = stats::real(maps, r.id)?;
            real_lines.push((real_labels(&key), c, r.weight, r.counts));
        }
    }
    for (metric, help, pick) in COUNTERS {
        header(o, &format!("lbd_service_{metric}"), "counter", help);
        for (labels, c) in &service_lines {
            let _ = writeln!(o, "lbd_service_{metric}{{{labels}}} {}", pick(c));
        }
        header(o, &format!("lbd_real_{metric}"), "counter", help);
        for (labels, c, _, _) in &real_lines {
            let _ = writeln!(o, "lbd_real_{metric}{{{labels}}} {}", pick(c));
        }
    }
    header(
        o,
        "lbd_real_weight",
        "gauge",
        "Weight in the data plane (0 = drained)",
    );
    header(
        o,
        "lbd_real_active_connections",
        "gauge",
        "Active connections (lc/wlc)",
    );
    header(
        o,
        "lbd_real_inactive_connections",
        "gauge",
        "Inactive connections (lc/wlc)",
    );
    for (labels, _, weight, counts) in &real_lines {
        let _ = writeln!(o, "lbd_real_weight{{{labels}}} {weight}");
        let _ = writeln!(
            o,
            "lbd_real_active_connections{{{labels}}} {}",
            counts.active
        );
        let _ = writeln!(
            o,
            "lbd_real_inactive_connections{{{labels}}} {}",
            counts.inactive
        );
    }
    let entries = maps.conns.keys().filter(|k| k.is_ok()).count();
    header(
        o,
        "lbd_conn_table_entries",
        "gauge",
        "Entries in the connection table",
    );
    let _ = writeln!(o, "lbd_conn_table_entries {entries}");
    header(
        o,
        "lbd_conn_table_capacity",
        "gauge",
        "Size of the connection table",
    );
    let _ = writeln!(o, "lbd_conn_table_capacity {}", lb_common::MAX_CONNS);
    Ok(())
}

type Pick = fn(&lb_common::Counters) -> u64;

const COUNTERS: [(&str, &str, Pick); 5] = [
    ("connections_total", "Connections scheduled", |c| c.conns),
    ("packets_in_total", "Packets from clients", |c| c.packets_in),
    ("bytes_in_total", "Bytes from clients", |c| c.bytes_in),
    ("packets_out_total", "Packets to clients (NAT)", |c| {
        c.packets_out
    }),
    ("bytes_out_total", "Bytes to clients (NAT)", |c| c.bytes_out),
];

/// Serves GET /metrics on `listener` until the task is aborted. `render`
/// is called per request.
pub async fn serve(listener: TcpListener, render: Arc<dyn Fn() -> String + Send + Sync>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let render = render.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let n = match tokio::time::timeout(
                std::time::Duration::from_secs(5),
                stream.read(&mut buf),
            )
            .await
            {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let request = String::from_utf8_lossy(&buf[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if path == "/metrics" || path == "/" {
                ("200 OK", render())
            } else {
                ("404 Not Found", "try /metrics\n".to_string())
            };
            let reply = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        });
    }
}
