//! The virtual-service table, kept in the maps themselves: SERVICES,
//! SERVICE_REALS and REALS hold everything `lbctl -L` shows, so separate
//! `lbctl` runs need no state file. Every change to a service's real
//! servers rebuilds its scheduling ring.

use crate::error::{LbError, Result};
use crate::maps::Maps;
use crate::sched::{build_ring, Backend};
use lb_common::{
    ip_to_net, net_to_ip, net_to_port, port_to_net, Forward, RealConnCounts, RealServer, Scheduler,
    ServiceInfo, ServiceKey, ServiceReals, ServiceState, IPPROTO_TCP, IPPROTO_UDP,
    MAX_REALS_PER_SERVICE, MAX_SERVICES, REAL_F_IN_USE, RING_SIZE,
};
use std::net::Ipv4Addr;

/// TCP or UDP (ipvsadm `-t` / `-u`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => IPPROTO_TCP,
            Protocol::Udp => IPPROTO_UDP,
        }
    }

    pub fn from_number(n: u8) -> Option<Protocol> {
        match n {
            IPPROTO_TCP => Some(Protocol::Tcp),
            IPPROTO_UDP => Some(Protocol::Udp),
            _ => None,
        }
    }

    /// As ipvsadm prints it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}

/// A virtual service's address: VIP, port, protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceAddr {
    pub vip: Ipv4Addr,
    pub port: u16,
    pub proto: Protocol,
}

impl ServiceAddr {
    pub fn new(vip: Ipv4Addr, port: u16, proto: Protocol) -> ServiceAddr {
        ServiceAddr { vip, port, proto }
    }

    fn key(&self) -> ServiceKey {
        ServiceKey {
            vip: ip_to_net(self.vip),
            port: port_to_net(self.port),
            proto: self.proto.number(),
            _pad: 0,
        }
    }

    fn from_key(key: &ServiceKey) -> Option<ServiceAddr> {
        Some(ServiceAddr {
            vip: net_to_ip(key.vip),
            port: net_to_port(key.port),
            proto: Protocol::from_number(key.proto)?,
        })
    }
}

/// How a service schedules (ipvsadm `-s`, `-p`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceOptions {
    pub scheduler: Scheduler,
    /// Persistence timeout in seconds; 0 = off.
    pub persistence: u32,
    /// `lb_common::SVC_F_*`.
    pub flags: u8,
}

/// How the balancer reaches a real server's next hop. Resolved from the
/// kernel's tables when not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Egress {
    pub ifindex: u32,
    pub next_hop_mac: [u8; 6],
    pub src_mac: [u8; 6],
}

/// A real server of a service (ipvsadm `-r`, `-g|-i|-m`, `-w`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealSpec {
    pub addr: Ipv4Addr,
    pub port: u16,
    pub weight: u32,
    pub forward: Forward,
    /// `None`: resolve through rtnetlink (route, then neighbour).
    pub egress: Option<Egress>,
}

/// A real server as the data plane holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Real {
    pub id: u32,
    pub addr: Ipv4Addr,
    pub port: u16,
    pub weight: u32,
    pub forward: Forward,
    pub egress: Egress,
    pub counts: RealConnCounts,
}

/// A virtual service with its real servers, in slot order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub id: u32,
    pub addr: ServiceAddr,
    pub options: ServiceOptions,
    pub reals: Vec<Real>,
}

/// The real-server id of slot `slot` of service `service_id`: each service
/// owns a fixed block of REALS, so ids never need a global allocator.
pub fn real_id(service_id: u32, slot: usize) -> u32 {
    service_id * MAX_REALS_PER_SERVICE as u32 + slot as u32
}

/// Every service, sorted by address, port and protocol.
pub fn list(maps: &Maps) -> Result<Vec<Service>> {
    let mut services = Vec::new();
    for item in maps.services.iter() {
        let (key, info) = item?;
        let Some(addr) = ServiceAddr::from_key(&key) else {
            continue;
        };
        services.push(read_service(maps, addr, &info)?);
    }
    services.sort_by_key(|s| s.addr);
    Ok(services)
}

/// One service.
pub fn get(maps: &Maps, addr: &ServiceAddr) -> Result<Service> {
    let info = lookup(maps, addr)?;
    read_service(maps, *addr, &info)
}

fn lookup(maps: &Maps, addr: &ServiceAddr) -> Result<ServiceInfo> {
    match maps.services.get(&addr.key(), 0) {
        Ok(info) => Ok(info),
        Err(aya::maps::MapError::KeyNotFound) => Err(LbError::NoSuchService),
        Err(e) => Err(e.into()),
    }
}

fn read_service(maps: &Maps, addr: ServiceAddr, info: &ServiceInfo) -> Result<Service> {
    let slots = maps.service_reals.get(&info.id, 0)?;
    let mut reals = Vec::new();
    for &id in slots.real_ids.iter().take(slots.count as usize) {
        let r = maps.reals.get(&id, 0)?;
        if r.flags & REAL_F_IN_USE == 0 {
            continue;
        }
        reals.push(Real {
            id,
            addr: net_to_ip(r.rip),
            port: net_to_port(r.rport),
            weight: r.weight,
            forward: Forward::from_u8(r.forward).unwrap_or(Forward::Dr),
            egress: Egress {
                ifindex: r.ifindex,
                next_hop_mac: r.next_hop_mac,
                src_mac: r.src_mac,
            },
            counts: maps.real_conn_counts.get(&id, 0)?,
        });
    }
    Ok(Service {
        id: info.id,
        addr,
        options: ServiceOptions {
            scheduler: Scheduler::from_u8(info.sched).unwrap_or(Scheduler::Wlc),
            persistence: info.persist_timeout_s,
            flags: info.flags,
        },
        reals,
    })
}

/// `ipvsadm -A`.
pub fn add_service(maps: &mut Maps, addr: &ServiceAddr, options: &ServiceOptions) -> Result<()> {
    if lookup(maps, addr).is_ok() {
        return Err(LbError::ServiceExists);
    }
    let used: Vec<u32> = list(maps)?.iter().map(|s| s.id).collect();
    let id = (0..MAX_SERVICES)
        .find(|id| !used.contains(id))
        .ok_or(LbError::TooManyServices(MAX_SERVICES))?;
    maps.service_reals.set(id, ServiceReals::default(), 0)?;
    maps.service_state.set(id, ServiceState::default(), 0)?;
    // A new service starts from zero, as in IPVS, even in a reused slot.
    crate::stats::zero_service(maps, id)?;
    let info = ServiceInfo {
        id,
        persist_timeout_s: options.persistence,
        ring_len: 0,
        sched: options.scheduler as u8,
        flags: options.flags,
        _pad: 0,
    };
    write_ring(maps, addr, &info, &[])?;
    let vip = ip_to_net(addr.vip);
    let on_vip = maps.vips.get(&vip, 0).unwrap_or(0);
    maps.vips.insert(vip, on_vip + 1, 0)?;
    Ok(())
}

/// `ipvsadm -E`: new scheduler or persistence; the ring is rebuilt.
pub fn edit_service(maps: &mut Maps, addr: &ServiceAddr, options: &ServiceOptions) -> Result<()> {
    let mut info = lookup(maps, addr)?;
    info.sched = options.scheduler as u8;
    info.persist_timeout_s = options.persistence;
    info.flags = options.flags;
    let service = read_service(maps, *addr, &info)?;
    write_ring(maps, addr, &info, &service.reals)
}

/// `ipvsadm -D`. Its connections lose their server and expire.
pub fn delete_service(maps: &mut Maps, addr: &ServiceAddr) -> Result<()> {
    let info = lookup(maps, addr)?;
    let service = read_service(maps, *addr, &info)?;
    maps.services.remove(&addr.key())?;
    let ids: Vec<u32> = service.reals.iter().map(|r| r.id).collect();
    retire_reals(maps, &ids)?;
    maps.service_reals
        .set(info.id, ServiceReals::default(), 0)?;
    let vip = ip_to_net(addr.vip);
    match maps.vips.get(&vip, 0) {
        Ok(n) if n > 1 => maps.vips.insert(vip, n - 1, 0)?,
        _ => maps.vips.remove(&vip)?,
    }
    Ok(())
}

/// `ipvsadm -C`.
pub fn clear(maps: &mut Maps) -> Result<()> {
    for service in list(maps)? {
        delete_service(maps, &service.addr)?;
    }
    Ok(())
}

/// `ipvsadm -a`.
pub fn add_real(maps: &mut Maps, addr: &ServiceAddr, spec: &RealSpec) -> Result<()> {
    let info = lookup(maps, addr)?;
    let mut service = read_service(maps, *addr, &info)?;
    if service
        .reals
        .iter()
        .any(|r| r.addr == spec.addr && r.port == spec.port)
    {
        return Err(LbError::DestinationExists);
    }
    let used: Vec<u32> = service.reals.iter().map(|r| r.id).collect();
    let id = (0..MAX_REALS_PER_SERVICE)
        .map(|slot| real_id(info.id, slot))
        .find(|id| !used.contains(id))
        .ok_or(LbError::TooManyDestinations(MAX_REALS_PER_SERVICE))?;
    let egress = match spec.egress {
        Some(e) => e,
        None => resolve_egress(spec.addr)?,
    };
    let real = Real {
        id,
        addr: spec.addr,
        port: spec.port,
        weight: spec.weight,
        forward: spec.forward,
        egress,
        counts: RealConnCounts::default(),
    };
    maps.real_conn_counts
        .set(id, RealConnCounts::default(), 0)?;
    crate::stats::zero_real(maps, id)?;
    write_real(maps, info.id, &real)?;
    service.reals.push(real);
    write_ring(maps, addr, &info, &service.reals)
}

/// `ipvsadm -e`: new weight or forwarding method. Established connections
/// keep their server; weight 0 drains.
pub fn edit_real(maps: &mut Maps, addr: &ServiceAddr, spec: &RealSpec) -> Result<()> {
    let info = lookup(maps, addr)?;
    let mut service = read_service(maps, *addr, &info)?;
    let real = service
        .reals
        .iter_mut()
        .find(|r| r.addr == spec.addr && r.port == spec.port)
        .ok_or(LbError::NoSuchDestination)?;
    real.weight = spec.weight;
    real.forward = spec.forward;
    if let Some(e) = spec.egress {
        real.egress = e;
    }
    let real = *real;
    write_real(maps, info.id, &real)?;
    write_ring(maps, addr, &info, &service.reals)
}

/// `ipvsadm -d`. Its connections go elsewhere on their next packet.
pub fn delete_real(
    maps: &mut Maps,
    addr: &ServiceAddr,
    real_addr: Ipv4Addr,
    port: u16,
) -> Result<()> {
    let info = lookup(maps, addr)?;
    let mut service = read_service(maps, *addr, &info)?;
    let pos = service
        .reals
        .iter()
        .position(|r| r.addr == real_addr && r.port == port)
        .ok_or(LbError::NoSuchDestination)?;
    let gone = service.reals.remove(pos);
    write_ring(maps, addr, &info, &service.reals)?;
    retire_reals(maps, &[gone.id])
}

/// Frees real-server slots: the data plane stops using them at once (their
/// connections are rescheduled on the next packet), and their connections
/// are forgotten, so a server that reuses a slot starts clean.
fn retire_reals(maps: &mut Maps, ids: &[u32]) -> Result<()> {
    for &id in ids {
        maps.reals.set(id, RealServer::default(), 0)?;
        maps.real_conn_counts
            .set(id, RealConnCounts::default(), 0)?;
    }
    crate::conns::purge_reals(maps, ids)?;
    Ok(())
}

fn write_real(maps: &mut Maps, service_id: u32, real: &Real) -> Result<()> {
    let value = RealServer {
        rip: ip_to_net(real.addr),
        weight: real.weight,
        service_id,
        ifindex: real.egress.ifindex,
        rport: port_to_net(real.port),
        forward: real.forward as u8,
        flags: REAL_F_IN_USE,
        next_hop_mac: real.egress.next_hop_mac,
        src_mac: real.egress.src_mac,
    };
    Ok(maps.reals.set(real.id, value, 0)?)
}

/// Writes the service's real list and ring, then publishes the service
/// with the new ring length. Maglev keys on the address, not the slot, so
/// two directors with the same config build the same table.
fn write_ring(
    maps: &mut Maps,
    addr: &ServiceAddr,
    info: &ServiceInfo,
    reals: &[Real],
) -> Result<()> {
    let mut slots = ServiceReals::default();
    for (i, r) in reals.iter().enumerate() {
        slots.real_ids[i] = r.id;
    }
    slots.count = reals.len() as u32;
    maps.service_reals.set(info.id, slots, 0)?;
    let backends: Vec<Backend> = reals
        .iter()
        .map(|r| Backend::new(r.id, r.weight, format!("{}:{}", r.addr, r.port)))
        .collect();
    let scheduler = Scheduler::from_u8(info.sched).unwrap_or(Scheduler::Wlc);
    let ring = build_ring(scheduler, &backends)?;
    let base = info.id * RING_SIZE;
    for (slot, &id) in ring.iter().enumerate() {
        maps.rings.set(base + slot as u32, id, 0)?;
    }
    let mut info = *info;
    info.ring_len = ring.len() as u32;
    maps.services.insert(addr.key(), info, 0)?;
    Ok(())
}

/// Finds the interface, next-hop MAC and our MAC towards `addr`.
pub fn resolve_egress(addr: Ipv4Addr) -> Result<Egress> {
    let err = |e: crate::netlink::NetlinkError| LbError::NextHop {
        addr,
        reason: e.to_string(),
    };
    let hop = crate::netlink::resolve_next_hop_mac(addr).map_err(err)?;
    let src_mac = crate::netlink::interface_mac_by_index(hop.ifindex).map_err(err)?;
    Ok(Egress {
        ifindex: hop.ifindex,
        next_hop_mac: hop.mac,
        src_mac,
    })
}
