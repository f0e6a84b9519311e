//! Connection sync, master → backup, over UDP, like IPVS' sync daemon:
//! the master sends the connections it tracks in batches, the backup
//! writes them into its own table, so after a failover established flows
//! keep their real server even with schedulers that are not consistent
//! hashes.
//!
//! Loss-tolerant: every round the master resends what changed (new flows,
//! state changes) and refreshes what it has not sent for 5 s, so a lost
//! datagram is repaired by a later round. Persistence templates go too (client port 0, as
//! IPVS syncs them), so a client keeps its server for new connections.
//! Bounded: at most `MAX_PER_ROUND` entries per round,
//! `PER_DATAGRAM` per datagram. Entries name the real server by address,
//! not by map id, so the two directors need not agree on ids. DR and TUN
//! only: NAT's reply table is not synced.

use super::config::ConnSync;
use super::metrics::{Shared, Status};
use super::vrrp::machine::State;
use crate::clock::monotonic_ns;
use crate::loader::Balancer;
use crate::maps::Maps;
use crate::services;
use lb_common::{
    ip_to_net, net_to_ip, net_to_port, port_to_net, ConnEntry, FlowKey, PersistEntry, PersistKey,
};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};

const MAGIC: &[u8; 4] = b"LBS1";
const HEADER: usize = 6;
const ENTRY: usize = 24;
/// 50 × 24 + 6 bytes: one datagram fits a 1500-byte MTU.
pub const PER_DATAGRAM: usize = 50;
pub const MAX_PER_ROUND: usize = 20_000;
/// An unchanged entry is resent after this long (refreshes the backup's
/// idle timer, repairs losses).
const REFRESH_NS: u64 = 5_000_000_000;

/// One synced connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncEntry {
    pub client: SocketAddrV4,
    pub vip: SocketAddrV4,
    pub proto: u8,
    pub state: u8,
    /// Milliseconds since the master last saw a packet of the flow.
    pub idle_ms: u32,
    pub real: SocketAddrV4,
}

/// The state of a persistence template (client port 0), as IPVS syncs
/// its templates: the client's server for new connections.
pub const PERSIST_TEMPLATE: u8 = 0xff;

impl SyncEntry {
    fn flow_key(&self) -> FlowKey {
        FlowKey {
            saddr: ip_to_net(*self.client.ip()),
            daddr: ip_to_net(*self.vip.ip()),
            sport: port_to_net(self.client.port()),
            dport: port_to_net(self.vip.port()),
            proto: self.proto,
            _pad: [0; 3],
        }
    }
}

pub fn encode(entries: &[SyncEntry]) -> Vec<u8> {
    let mut b = Vec::with_capacity(HEADER + ENTRY * entries.len());
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&(entries.len() as u16).to_be_bytes());
    for e in entries {
        b.extend_from_slice(&e.client.ip().octets());
        b.extend_from_slice(&e.vip.ip().octets());
        b.extend_from_slice(&e.client.port().to_be_bytes());
        b.extend_from_slice(&e.vip.port().to_be_bytes());
        b.push(e.proto);
        b.push(e.state);
        b.extend_from_slice(&e.idle_ms.to_be_bytes());
        b.extend_from_slice(&e.real.ip().octets());
        b.extend_from_slice(&e.real.port().to_be_bytes());
    }
    b
}

/// Parses a datagram; None when it is not ours or is cut short.
pub fn decode(b: &[u8]) -> Option<Vec<SyncEntry>> {
    if b.len() < HEADER || &b[..4] != MAGIC {
        return None;
    }
    let count = u16::from_be_bytes([b[4], b[5]]) as usize;
    if b.len() < HEADER + count * ENTRY {
        return None;
    }
    let ip = |o: usize| Ipv4Addr::new(b[o], b[o + 1], b[o + 2], b[o + 3]);
    let port = |o: usize| u16::from_be_bytes([b[o], b[o + 1]]);
    Some(
        (0..count)
            .map(|i| {
                let o = HEADER + i * ENTRY;
                SyncEntry {
                    client: SocketAddrV4::new(ip(o), port(o + 8)),
                    vip: SocketAddrV4::new(ip(o + 4), port(o + 10)),
                    proto: b[o + 12],
                    state: b[o + 13],
                    idle_ms: u32::from_be_bytes([b[o + 14], b[o + 15], b[o + 16], b[o + 17]]),
                    real: SocketAddrV4::new(ip(o + 18), port(o + 22)),
                }
            })
            .collect(),
    )
}

/// The master's memory of what it sent: per flow, the state and when.
#[derive(Default)]
pub struct Sender {
    sent: HashMap<FlowKey, (u8, u64)>,
}

impl Sender {
    /// The entries to send this round: new flows, changed states, and
    /// flows not sent for REFRESH_NS, at most MAX_PER_ROUND.
    pub fn round(&mut self, maps: &Maps) -> crate::Result<Vec<SyncEntry>> {
        let now = monotonic_ns();
        let mut out = Vec::new();
        let mut live = HashMap::new();
        for (key, entry, last_seen_ns) in candidates(maps)? {
            let due = match self.sent.get(&key) {
                None => true,
                Some(&(state, at)) => state != entry.state || now.saturating_sub(at) >= REFRESH_NS,
            };
            if due && out.len() < MAX_PER_ROUND {
                let idle_ms = now.saturating_sub(last_seen_ns) / 1_000_000;
                live.insert(key, (entry.state, now));
                out.push(SyncEntry {
                    idle_ms: idle_ms.min(u32::MAX as u64) as u32,
                    ..entry
                });
            } else if let Some(&prev) = self.sent.get(&key) {
                live.insert(key, prev);
            }
        }
        // Forget flows that left the tables: the memory stays bounded.
        self.sent = live;
        Ok(out)
    }
}

/// Every connection and persistence template the master holds, keyed for
/// the sender's memory, with its last-seen time. Templates are keyed with
/// client port 0, which no real flow has.
fn candidates(maps: &Maps) -> crate::Result<Vec<(FlowKey, SyncEntry, u64)>> {
    let list = services::list(maps)?;
    let mut reals: HashMap<u32, SocketAddrV4> = HashMap::new();
    for s in &list {
        for r in &s.reals {
            reals.insert(r.id, SocketAddrV4::new(r.addr, r.port));
        }
    }
    let mut out = Vec::new();
    for item in maps.conns.iter() {
        let Ok((key, entry)) = item else { continue };
        let Some(&real) = reals.get(&entry.real_id) else {
            continue;
        };
        let sync = SyncEntry {
            client: SocketAddrV4::new(net_to_ip(key.saddr), net_to_port(key.sport)),
            vip: SocketAddrV4::new(net_to_ip(key.daddr), net_to_port(key.dport)),
            proto: key.proto,
            state: entry.state,
            idle_ms: 0,
            real,
        };
        out.push((key, sync, entry.last_seen_ns));
    }
    for item in maps.persist.iter() {
        let Ok((key, entry)) = item else { continue };
        let (Some(service), Some(&real)) = (
            list.iter().find(|s| s.id == key.service_id),
            reals.get(&entry.real_id),
        ) else {
            continue;
        };
        let sync = SyncEntry {
            client: SocketAddrV4::new(net_to_ip(key.saddr), 0),
            vip: SocketAddrV4::new(service.addr.vip, service.addr.port),
            proto: service.addr.proto.number(),
            state: PERSIST_TEMPLATE,
            idle_ms: 0,
            real,
        };
        out.push((sync.flow_key(), sync, entry.last_seen_ns));
    }
    Ok(out)
}

/// The backup's side: writes received entries into its table. Returns how
/// many were applied (entries for unknown services or servers are skipped).
pub fn apply(maps: &mut Maps, entries: &[SyncEntry]) -> crate::Result<usize> {
    let now = monotonic_ns();
    let list = services::list(maps)?;
    let mut applied = 0;
    for e in entries {
        let Some(service) = list.iter().find(|s| {
            s.addr.vip == *e.vip.ip()
                && s.addr.port == e.vip.port()
                && s.addr.proto.number() == e.proto
        }) else {
            continue;
        };
        let Some(real) = service
            .reals
            .iter()
            .find(|r| r.addr == *e.real.ip() && r.port == e.real.port())
        else {
            continue;
        };
        let last_seen_ns = now.saturating_sub(e.idle_ms as u64 * 1_000_000);
        if e.state == PERSIST_TEMPLATE {
            let key = PersistKey {
                service_id: service.id,
                saddr: ip_to_net(*e.client.ip()),
            };
            let value = PersistEntry {
                last_seen_ns,
                real_id: real.id,
                _pad: 0,
            };
            maps.persist.insert(key, value, 0)?;
        } else {
            let value = ConnEntry {
                last_seen_ns,
                real_id: real.id,
                service_id: service.id,
                state: e.state,
                flags: if service.options.persistence != 0 {
                    lb_common::CONN_F_PERSISTENT
                } else {
                    0
                },
                ..Default::default()
            };
            maps.conns.insert(e.flow_key(), value, 0)?;
        }
        applied += 1;
    }
    Ok(applied)
}

/// The sync task: while any VRRP instance is MASTER, send rounds to the
/// peers; otherwise apply what the master sends. Runs until aborted.
pub async fn run(
    cfg: ConnSync,
    balancer: Shared<Option<Balancer>>,
    status: Shared<Status>,
) -> std::io::Result<()> {
    let socket = tokio::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, cfg.port)).await?;
    log::info!("conn sync on UDP port {} with {:?}", cfg.port, cfg.peers);
    let mut sender = Sender::default();
    let mut tick = tokio::time::interval(cfg.interval.0.max(std::time::Duration::from_millis(10)));
    let mut buf = vec![0u8; 65536];
    let is_master = || {
        let s = status.lock().unwrap_or_else(|e| e.into_inner());
        s.vrrp.values().any(|(_, state, _)| *state == State::Master)
    };
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if !is_master() {
                    sender = Sender::default();
                    continue;
                }
                let round = {
                    let guard = balancer.lock().unwrap_or_else(|e| e.into_inner());
                    match guard.as_ref().map(|b| sender.round(&b.maps)) {
                        Some(Ok(r)) => r,
                        Some(Err(e)) => { log::warn!("conn sync: {e}"); continue; }
                        None => continue,
                    }
                };
                for batch in round.chunks(PER_DATAGRAM) {
                    let datagram = encode(batch);
                    for peer in &cfg.peers {
                        // A full socket buffer drops the datagram: a later
                        // round resends it.
                        let _ = socket.try_send_to(&datagram, (*peer, cfg.port).into());
                    }
                }
            }
            received = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = received else { continue };
                let from_peer = matches!(from.ip(), std::net::IpAddr::V4(ip) if cfg.peers.contains(&ip));
                if !from_peer || is_master() {
                    continue;
                }
                let Some(entries) = decode(&buf[..n]) else {
                    log::debug!("conn sync: junk from {from}");
                    continue;
                };
                let mut guard = balancer.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(b) = guard.as_mut() {
                    if let Err(e) = apply(&mut b.maps, &entries) {
                        log::warn!("conn sync: {e}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_round_trip_and_junk_is_refused() {
        let e = SyncEntry {
            client: "198.18.0.2:40000".parse().unwrap(),
            vip: "198.18.0.100:6379".parse().unwrap(),
            proto: 6,
            state: 2,
            idle_ms: 1234,
            real: "198.18.0.21:6379".parse().unwrap(),
        };
        let batch = vec![e; PER_DATAGRAM];
        let b = encode(&batch);
        assert!(b.len() <= 1472, "fits one datagram on a 1500 MTU");
        assert_eq!(decode(&b).unwrap(), batch);
        assert_eq!(decode(&b[..b.len() - 1]), None);
        assert_eq!(decode(b"HTTP/1.1"), None);
    }
}
