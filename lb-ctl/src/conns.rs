//! The connection table as `ipvsadm -L -n -c` shows it, and the sweeper
//! that keeps it honest: expired entries go, and the active/inactive
//! counts that lc/wlc schedule by are recomputed from what is left.

use crate::clock::monotonic_ns;
use crate::error::Result;
use crate::maps::Maps;
use crate::services::Protocol;
use aya::maps::MapData;
use aya::Pod;
use lb_common::{
    net_to_ip, net_to_port, ConnState, FlowKey, RealConnCounts, Timeouts, REAL_F_IN_USE,
};
use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::time::Duration;

/// One tracked connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub proto: Protocol,
    pub client: SocketAddrV4,
    pub virtual_addr: SocketAddrV4,
    pub destination: SocketAddrV4,
    pub state: ConnState,
    /// Time left before the entry expires.
    pub expires_in: Duration,
    pub real_id: u32,
    pub service_id: u32,
}

fn expiry(timeouts: &Timeouts, state: u8, last_seen_ns: u64, now: u64) -> Option<Duration> {
    let timeout_ns =
        timeouts.by_state.get(state as usize).copied().unwrap_or(0) as u64 * 1_000_000_000;
    let age = now.saturating_sub(last_seen_ns);
    (age <= timeout_ns).then(|| Duration::from_nanos(timeout_ns - age))
}

/// The live connections, oldest-expiring first.
pub fn list(maps: &Maps) -> Result<Vec<Connection>> {
    let timeouts = maps.lb_config()?.timeouts;
    let now = monotonic_ns();
    let mut out = Vec::new();
    for item in maps.conns.iter() {
        let (key, entry) = item?;
        let Some(expires_in) = expiry(&timeouts, entry.state, entry.last_seen_ns, now) else {
            continue;
        };
        let Ok(real) = maps.reals.get(&entry.real_id, 0) else {
            continue;
        };
        if real.flags & REAL_F_IN_USE == 0 {
            continue;
        }
        let Some(proto) = Protocol::from_number(key.proto) else {
            continue;
        };
        out.push(Connection {
            proto,
            client: SocketAddrV4::new(net_to_ip(key.saddr), net_to_port(key.sport)),
            virtual_addr: SocketAddrV4::new(net_to_ip(key.daddr), net_to_port(key.dport)),
            destination: SocketAddrV4::new(net_to_ip(real.rip), net_to_port(real.rport)),
            state: ConnState::from_u8(entry.state),
            expires_in,
            real_id: entry.real_id,
            service_id: entry.service_id,
        });
    }
    out.sort_by_key(|c| (c.expires_in, c.client));
    Ok(out)
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    pub expired: usize,
    pub live: usize,
    pub nat_expired: usize,
    pub persist_expired: usize,
}

/// Deletes expired entries of CONNS, NAT_REPLIES and PERSIST, and rewrites
/// REAL_CONN_COUNTS from the live connections.
pub fn sweep(maps: &mut Maps) -> Result<Sweep> {
    let timeouts = maps.lb_config()?.timeouts;
    let now = monotonic_ns();
    let mut report = Sweep::default();
    let mut counts: HashMap<u32, RealConnCounts> = HashMap::new();
    let mut expired = Vec::new();
    for item in maps.conns.iter() {
        let (key, entry) = item?;
        if expiry(&timeouts, entry.state, entry.last_seen_ns, now).is_none() {
            expired.push(key);
            continue;
        }
        report.live += 1;
        let c = counts.entry(entry.real_id).or_default();
        if ConnState::from_u8(entry.state).is_active() {
            c.active += 1;
        } else {
            c.inactive += 1;
        }
    }
    for key in &expired {
        // Gone already (LRU eviction or a racing sweep) is fine.
        let _ = maps.conns.remove(key);
    }
    report.expired = expired.len();
    report.nat_expired = sweep_nat(maps)?;
    report.persist_expired = sweep_persist(maps, now)?;
    for real_id in in_use_reals(maps)? {
        let c = counts.get(&real_id).copied().unwrap_or_default();
        maps.real_conn_counts.set(real_id, c, 0)?;
    }
    Ok(report)
}

/// A NAT reply entry lives as long as its client connection does.
fn sweep_nat(maps: &mut Maps) -> Result<usize> {
    let conns = &maps.conns;
    Ok(remove_where(&mut maps.nat_replies, |key, reply| {
        let client_flow = FlowKey {
            saddr: key.daddr,
            daddr: reply.vip,
            sport: key.dport,
            dport: reply.vport,
            proto: key.proto,
            _pad: [0; 3],
        };
        conns.get(&client_flow, 0).is_err()
    }))
}

fn sweep_persist(maps: &mut Maps, now: u64) -> Result<usize> {
    let mut timeouts = HashMap::new();
    for item in maps.services.iter() {
        let (_, info) = item?;
        timeouts.insert(info.id, info.persist_timeout_s as u64 * 1_000_000_000);
    }
    Ok(remove_where(&mut maps.persist, |key, entry| {
        let timeout = timeouts.get(&key.service_id).copied().unwrap_or(0);
        now.saturating_sub(entry.last_seen_ns) > timeout
    }))
}

fn in_use_reals(maps: &Maps) -> Result<Vec<u32>> {
    let mut ids = Vec::new();
    for (id, real) in maps.reals.iter().enumerate() {
        if real?.flags & REAL_F_IN_USE != 0 {
            ids.push(id as u32);
        }
    }
    Ok(ids)
}

/// Forgets every connection, NAT translation and persistence template of
/// the given real servers, so that their slots can be reused without old
/// flows landing on a new server. Returns how many connections went.
pub fn purge_reals(maps: &mut Maps, real_ids: &[u32]) -> Result<usize> {
    let conns = remove_where(&mut maps.conns, |_, e| real_ids.contains(&e.real_id));
    remove_where(&mut maps.nat_replies, |_, r| real_ids.contains(&r.real_id));
    remove_where(&mut maps.persist, |_, p| real_ids.contains(&p.real_id));
    Ok(conns)
}

/// Removes the entries of `map` for which `dead` holds; returns how many.
/// Entries gone meanwhile (LRU eviction, a racing sweep) are fine.
fn remove_where<K: Pod, V: Pod>(
    map: &mut aya::maps::HashMap<MapData, K, V>,
    dead: impl Fn(&K, &V) -> bool,
) -> usize {
    let keys: Vec<K> = map
        .iter()
        .filter_map(|item| item.ok())
        .filter(|(k, v)| dead(k, v))
        .map(|(k, _)| k)
        .collect();
    for key in &keys {
        let _ = map.remove(key);
    }
    keys.len()
}

/// `ipvsadm --set tcp tcpfin udp`: 0 leaves a value unchanged.
pub fn set_timeouts(maps: &mut Maps, tcp: u32, tcpfin: u32, udp: u32) -> Result<()> {
    let mut cfg = maps.lb_config()?;
    for (state, secs) in [
        (ConnState::Established, tcp),
        (ConnState::FinWait, tcpfin),
        (ConnState::Udp, udp),
    ] {
        if secs != 0 {
            cfg.timeouts.by_state[state as usize] = secs;
        }
    }
    maps.set_lb_config(&cfg)
}

/// (tcp, tcpfin, udp) as `ipvsadm -L --timeout` prints them.
pub fn timeouts(maps: &Maps) -> Result<(u32, u32, u32)> {
    let t = maps.lb_config()?.timeouts.by_state;
    Ok((
        t[ConnState::Established as usize],
        t[ConnState::FinWait as usize],
        t[ConnState::Udp as usize],
    ))
}
