//! Every map key and value shared by the XDP programs and user space.
//!
//! Addresses and ports are kept in network byte order exactly as they sit in
//! the packet (a `u32` read straight out of the IPv4 header), so the data
//! plane never swaps bytes on the hot path. User space converts with
//! [`ip_to_net`] / [`port_to_net`] and back.
//!
//! With the `user` feature the structs implement `aya::Pod`.
#![no_std]

use core::net::Ipv4Addr;

pub mod maps {
    //! Map names as they appear in the object file and under the pin folder.
    pub const SERVICES: &str = "SERVICES";
    pub const VIPS: &str = "VIPS";
    pub const SERVICE_REALS: &str = "SERVICE_REALS";
    pub const RINGS: &str = "RINGS";
    pub const REALS: &str = "REALS";
    pub const REAL_CONN_COUNTS: &str = "REAL_CONN_COUNTS";
    pub const SERVICE_STATE: &str = "SERVICE_STATE";
    pub const CONNS: &str = "CONNS";
    pub const NAT_REPLIES: &str = "NAT_REPLIES";
    pub const PERSIST: &str = "PERSIST";
    pub const SERVICE_STATS: &str = "SERVICE_STATS";
    pub const REAL_STATS: &str = "REAL_STATS";
    pub const GLOBAL_STATS: &str = "GLOBAL_STATS";
    pub const LB_CONFIG: &str = "LB_CONFIG";
    pub const TX_PORTS: &str = "TX_PORTS";
    /// Decap object: the local addresses whose IP-in-IP packets are stripped.
    pub const DECAP_DSTS: &str = "DECAP_DSTS";
    /// Every map of the balancer, in the order user space pins them.
    pub const ALL: [&str; 15] = [
        SERVICES,
        VIPS,
        SERVICE_REALS,
        RINGS,
        REALS,
        REAL_CONN_COUNTS,
        SERVICE_STATE,
        CONNS,
        NAT_REPLIES,
        PERSIST,
        SERVICE_STATS,
        REAL_STATS,
        GLOBAL_STATS,
        LB_CONFIG,
        TX_PORTS,
    ];
}

/// Program names in the object file.
pub mod progs {
    /// In the balancer object.
    pub const BALANCER: &str = "balancer";
    /// In the decap object.
    pub const DECAP: &str = "decap";
    /// In the decap object: XDP_PASS and nothing else. Native XDP_TX or a
    /// redirect into a veth needs a program on the receiving peer.
    pub const PASS: &str = "pass";
}

/// Marks an empty ring slot: no real server can take the connection.
pub const NO_REAL: u32 = u32::MAX;

/// The flow hash of the `sh`, `dh` and `mh` lookups. Both sides use this
/// one definition, so user space can predict the data plane's choice.
/// It is murmur3's 32-bit finaliser: no loops or tables, cheap for eBPF.
pub mod flow_hash {
    /// Mixed into every input so that address 0 does not hash to 0.
    const SEED: u32 = 0x9e37_79b9;

    #[inline(always)]
    pub const fn fmix32(mut h: u32) -> u32 {
        h ^= h >> 16;
        h = h.wrapping_mul(0x85eb_ca6b);
        h ^= h >> 13;
        h = h.wrapping_mul(0xc2b2_ae35);
        h ^= h >> 16;
        h
    }

    /// Hash of one network-order address (`sh`, `dh`).
    #[inline(always)]
    pub const fn hash_addr(addr: u32) -> u32 {
        fmix32(addr ^ SEED)
    }

    /// Hash of a network-order address and port (`mh`).
    #[inline(always)]
    pub const fn hash_addr_port(addr: u32, port: u16) -> u32 {
        fmix32(fmix32(addr ^ SEED) ^ port as u32)
    }
}

/// How many virtual services the data plane can hold.
pub const MAX_SERVICES: u32 = 64;
/// How many real servers one service can have.
pub const MAX_REALS_PER_SERVICE: usize = 32;
/// Real-server slots in total (a real server belongs to one service, as an
/// IPVS destination does).
pub const MAX_REALS: u32 = MAX_SERVICES * MAX_REALS_PER_SERVICE as u32;
/// Entries of one service's scheduling ring. The largest ring is Maglev's,
/// whose size must be a prime; IPVS' mh and Katran both use 65537.
pub const RING_SIZE: u32 = 65537;
/// Connection-table capacity (LRU).
pub const MAX_CONNS: u32 = 1 << 18;
/// Persistence-table capacity (LRU).
pub const MAX_PERSIST: u32 = 1 << 18;
/// Size of the source/destination hash tables of `sh` and `dh` (IPVS uses 256).
pub const HASH_TABLE_SIZE: u32 = 256;

pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_IPIP: u8 = 4;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;

/// Converts an address to the network-order `u32` the maps hold.
pub const fn ip_to_net(ip: Ipv4Addr) -> u32 {
    u32::from_ne_bytes(ip.octets())
}

/// Converts a map's network-order `u32` back to an address.
pub const fn net_to_ip(raw: u32) -> Ipv4Addr {
    let b = raw.to_ne_bytes();
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// Converts a host-order port to the network-order `u16` the maps hold.
pub const fn port_to_net(port: u16) -> u16 {
    port.to_be()
}

/// Converts a map's network-order port back to host order.
pub const fn net_to_port(raw: u16) -> u16 {
    u16::from_be(raw)
}

/// The scheduler of a virtual service (ipvsadm `-s`).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheduler {
    /// Round robin over the servers with weight > 0.
    Rr = 0,
    /// Weighted round robin: the ring holds a smooth weighted sequence.
    Wrr = 1,
    /// Least connections: min(active * 256 + inactive).
    Lc = 2,
    /// Weighted least connections: min((active * 256 + inactive) / weight).
    Wlc = 3,
    /// Source hashing over a 256-slot weighted table.
    Sh = 4,
    /// Destination hashing over a 256-slot weighted table.
    Dh = 5,
    /// Maglev consistent hashing over a prime-sized lookup table.
    Mh = 6,
}

impl Scheduler {
    pub const ALL: [Scheduler; 7] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Sh,
        Scheduler::Dh,
        Scheduler::Mh,
    ];

    pub const fn from_u8(v: u8) -> Option<Scheduler> {
        match v {
            0 => Some(Scheduler::Rr),
            1 => Some(Scheduler::Wrr),
            2 => Some(Scheduler::Lc),
            3 => Some(Scheduler::Wlc),
            4 => Some(Scheduler::Sh),
            5 => Some(Scheduler::Dh),
            6 => Some(Scheduler::Mh),
            _ => None,
        }
    }

    /// The name ipvsadm uses.
    pub const fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Sh => "sh",
            Scheduler::Dh => "dh",
            Scheduler::Mh => "mh",
        }
    }
}

/// How a packet reaches its real server (ipvsadm `-g`, `-i`, `-m`).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    /// Direct routing: rewrite the MACs and transmit.
    Dr = 0,
    /// IP-in-IP tunnel to the real server.
    Tun = 1,
    /// Masquerading: rewrite the destination, translate the replies back.
    Nat = 2,
}

impl Forward {
    pub const fn from_u8(v: u8) -> Option<Forward> {
        match v {
            0 => Some(Forward::Dr),
            1 => Some(Forward::Tun),
            2 => Some(Forward::Nat),
            _ => None,
        }
    }
}

/// TCP connection states as IPVS tracks them from the client side and
/// `ipvsadm -lnc` prints them. UDP connections use `Udp`.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnState {
    None = 0,
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait = 4,
    TimeWait = 5,
    Close = 6,
    CloseWait = 7,
    LastAck = 8,
    Listen = 9,
    SynAck = 10,
    Udp = 11,
}

impl ConnState {
    pub const COUNT: usize = 12;

    pub const fn from_u8(v: u8) -> ConnState {
        match v {
            1 => ConnState::Established,
            2 => ConnState::SynSent,
            3 => ConnState::SynRecv,
            4 => ConnState::FinWait,
            5 => ConnState::TimeWait,
            6 => ConnState::Close,
            7 => ConnState::CloseWait,
            8 => ConnState::LastAck,
            9 => ConnState::Listen,
            10 => ConnState::SynAck,
            11 => ConnState::Udp,
            _ => ConnState::None,
        }
    }

    /// The name `ipvsadm -lnc` prints.
    pub const fn name(self) -> &'static str {
        match self {
            ConnState::None => "NONE",
            ConnState::Established => "ESTABLISHED",
            ConnState::SynSent => "SYN_SENT",
            ConnState::SynRecv => "SYN_RECV",
            ConnState::FinWait => "FIN_WAIT",
            ConnState::TimeWait => "TIME_WAIT",
            ConnState::Close => "CLOSE",
            ConnState::CloseWait => "CLOSE_WAIT",
            ConnState::LastAck => "LAST_ACK",
            ConnState::Listen => "LISTEN",
            ConnState::SynAck => "SYNACK",
            ConnState::Udp => "UDP",
        }
    }

    /// IPVS counts only ESTABLISHED connections as active; the rest are
    /// inactive.
    pub const fn is_active(self) -> bool {
        matches!(self, ConnState::Established)
    }
}

/// Key of `SERVICES`: the virtual service (VIP, port, protocol).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ServiceKey {
    /// Network order.
    pub vip: u32,
    /// Network order.
    pub port: u16,
    pub proto: u8,
    pub _pad: u8,
}

/// The service flag that makes unknown or drained traffic to a VIP drop
/// instead of passing to the stack.
pub const SVC_F_DROP_UNSCHEDULABLE: u8 = 1;

/// Value of `SERVICES`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ServiceInfo {
    /// Index into `SERVICE_REALS`, `SERVICE_STATE`, `SERVICE_STATS` and the
    /// service's slice of `RINGS`.
    pub id: u32,
    /// Persistence timeout in seconds; 0 = off.
    pub persist_timeout_s: u32,
    /// Number of valid entries of this service's ring.
    pub ring_len: u32,
    /// [`Scheduler`] as `u8`.
    pub sched: u8,
    pub flags: u8,
    pub _pad: u16,
}

/// Value of `SERVICE_REALS`: the real servers of one service, for the
/// schedulers that scan them (lc, wlc).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceReals {
    pub count: u32,
    pub real_ids: [u32; MAX_REALS_PER_SERVICE],
}

impl Default for ServiceReals {
    fn default() -> Self {
        ServiceReals {
            count: 0,
            real_ids: [0; MAX_REALS_PER_SERVICE],
        }
    }
}

/// Value of `SERVICE_STATE`: the mutable round-robin cursor.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ServiceState {
    pub rr_cursor: u64,
}

/// Real-server flag: the slot is in use.
pub const REAL_F_IN_USE: u8 = 1;

/// Value of `REALS`: one destination of one service.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RealServer {
    /// Network order.
    pub rip: u32,
    /// Weight; 0 drains (no new connections, existing ones stay).
    pub weight: u32,
    /// The service this destination belongs to.
    pub service_id: u32,
    /// Interface towards the next hop. For DR and TUN it is the interface
    /// the balancer runs on (XDP_TX); for NAT the backend leg (redirect).
    /// 0 = unknown: NAT then asks the kernel's FIB.
    pub ifindex: u32,
    /// Network order; for DR and TUN it equals the virtual port.
    pub rport: u16,
    /// [`Forward`] as `u8`.
    pub forward: u8,
    pub flags: u8,
    /// Next-hop MAC (the real server, or the router towards it).
    pub next_hop_mac: [u8; 6],
    /// Our MAC on `ifindex`, the source MAC of forwarded frames.
    pub src_mac: [u8; 6],
}

/// Value of `REAL_CONN_COUNTS`: the counts lc/wlc schedule by. The data
/// plane adjusts them as connections come and change state; the user-space
/// sweeper rewrites them from the connection table.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RealConnCounts {
    pub active: u32,
    pub inactive: u32,
}

/// Key of `CONNS`, `NAT_REPLIES`: a flow's 5-tuple as seen in the packet.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct FlowKey {
    pub saddr: u32,
    pub daddr: u32,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub _pad: [u8; 3],
}

/// Value of `CONNS`: the scheduling decision and state of one client flow.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ConnEntry {
    /// `bpf_ktime_get_ns()` of the last packet.
    pub last_seen_ns: u64,
    pub real_id: u32,
    pub service_id: u32,
    /// [`ConnState`] as `u8`.
    pub state: u8,
    /// `CONN_F_*`.
    pub flags: u8,
    pub _pad: [u8; 6],
}

/// The connection's service is persistent: its packets keep the client's
/// persistence template alive, as IPVS' controlled connections do. Kept in
/// the entry so the hit path needs no service lookup.
pub const CONN_F_PERSISTENT: u8 = 1;

/// Value of `NAT_REPLIES`, keyed by the reply's 5-tuple (RIP:rport →
/// CIP:cport): what to write back so the client sees VIP:vport, and the
/// hop the client's packets came from, so the reply goes back the same way
/// without a route lookup.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NatReply {
    pub last_seen_ns: u64,
    pub vip: u32,
    pub real_id: u32,
    /// Interface the client's packets arrived on.
    pub client_ifindex: u32,
    pub vport: u16,
    /// Source MAC of the client's packets (the client or its router).
    pub client_hop_mac: [u8; 6],
    /// Our MAC on `client_ifindex`.
    pub our_mac: [u8; 6],
    pub _pad: [u8; 2],
}

/// Key of `PERSIST`: (service, client address).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PersistKey {
    pub service_id: u32,
    pub saddr: u32,
}

/// Value of `PERSIST`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PersistEntry {
    pub last_seen_ns: u64,
    pub real_id: u32,
    pub _pad: u32,
}

/// Per-CPU counters of `SERVICE_STATS` and `REAL_STATS`, as `ipvsadm
/// --stats` shows them.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counters {
    pub conns: u64,
    pub packets_in: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
}

/// Indexes of `GLOBAL_STATS` (per-CPU `u64` counters).
pub mod global_stat {
    pub const PASSED: u32 = 0;
    pub const FORWARDED: u32 = 1;
    pub const DROPPED: u32 = 2;
    pub const ICMP_ECHO_REPLIED: u32 = 3;
    pub const ICMP_ERRORS_FORWARDED: u32 = 4;
    pub const NO_REAL: u32 = 5;
    pub const DECAPSULATED: u32 = 6;
    pub const COUNT: u32 = 8;
}

/// Connection timeouts in seconds, per [`ConnState`] (`ipvsadm --set`
/// changes Established, FinWait and Udp).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub by_state: [u32; ConnState::COUNT],
}

impl Default for Timeouts {
    /// IPVS' defaults (net/netfilter/ipvs/ip_vs_proto_tcp.c, _udp.c).
    fn default() -> Self {
        let mut by_state = [0u32; ConnState::COUNT];
        by_state[ConnState::None as usize] = 2;
        by_state[ConnState::Established as usize] = 900;
        by_state[ConnState::SynSent as usize] = 120;
        by_state[ConnState::SynRecv as usize] = 60;
        by_state[ConnState::FinWait as usize] = 120;
        by_state[ConnState::TimeWait as usize] = 120;
        by_state[ConnState::Close as usize] = 10;
        by_state[ConnState::CloseWait as usize] = 60;
        by_state[ConnState::LastAck as usize] = 30;
        by_state[ConnState::Listen as usize] = 120;
        by_state[ConnState::SynAck as usize] = 120;
        by_state[ConnState::Udp as usize] = 300;
        Timeouts { by_state }
    }
}

/// Config flag: log each scheduling decision with aya-log (off on the hot
/// path unless set).
pub const CFG_F_DEBUG_LOG: u32 = 1;

/// Value of `LB_CONFIG[0]`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LbConfig {
    /// Outer source address of IP-in-IP packets (network order).
    pub tunnel_src: u32,
    pub flags: u32,
    pub timeouts: Timeouts,
}

#[cfg(feature = "user")]
mod pod {
    use super::*;
    unsafe impl aya::Pod for ServiceKey {}
    unsafe impl aya::Pod for ServiceInfo {}
    unsafe impl aya::Pod for ServiceReals {}
    unsafe impl aya::Pod for ServiceState {}
    unsafe impl aya::Pod for RealServer {}
    unsafe impl aya::Pod for RealConnCounts {}
    unsafe impl aya::Pod for FlowKey {}
    unsafe impl aya::Pod for ConnEntry {}
    unsafe impl aya::Pod for NatReply {}
    unsafe impl aya::Pod for PersistKey {}
    unsafe impl aya::Pod for PersistEntry {}
    unsafe impl aya::Pod for Counters {}
    unsafe impl aya::Pod for LbConfig {}
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use core::mem::size_of;

    #[test]
    fn layouts_have_no_hidden_padding() {
        assert_eq!(size_of::<ServiceKey>(), 8);
        assert_eq!(size_of::<ServiceInfo>(), 16);
        assert_eq!(size_of::<FlowKey>(), 16);
        assert_eq!(size_of::<ConnEntry>(), 24);
        assert_eq!(size_of::<NatReply>(), 40);
        assert_eq!(size_of::<PersistKey>(), 8);
        assert_eq!(size_of::<PersistEntry>(), 16);
        assert_eq!(size_of::<RealServer>(), 32);
        assert_eq!(size_of::<Counters>(), 40);
        assert_eq!(size_of::<LbConfig>(), 8 + 4 * ConnState::COUNT);
    }

    #[test]
    fn address_helpers_round_trip() {
        let ip = Ipv4Addr::new(198, 18, 0, 100);
        assert_eq!(net_to_ip(ip_to_net(ip)), ip);
        assert_eq!(ip_to_net(ip).to_ne_bytes(), [198, 18, 0, 100]);
        assert_eq!(net_to_port(port_to_net(6379)), 6379);
        assert_eq!(port_to_net(0x1234).to_ne_bytes(), [0x12, 0x34]);
    }

    #[test]
    fn flow_hash_spreads_sequential_addresses() {
        let mut buckets = [0u32; 16];
        for i in 0..16_000u32 {
            let addr = ip_to_net(Ipv4Addr::from(0xc612_0000 + i));
            buckets[(flow_hash::hash_addr(addr) % 16) as usize] += 1;
        }
        for b in buckets {
            assert!((900..1100).contains(&b), "uneven bucket {b}");
        }
        assert_ne!(
            flow_hash::hash_addr_port(1, 1),
            flow_hash::hash_addr_port(1, 2)
        );
    }

    #[test]
    fn names_match_ipvsadm() {
        assert_eq!(ConnState::from_u8(3).name(), "SYN_RECV");
        assert_eq!(Scheduler::from_u8(6).unwrap().name(), "mh");
        for s in Scheduler::ALL {
            assert_eq!(Scheduler::from_u8(s as u8), Some(s));
        }
    }
}
