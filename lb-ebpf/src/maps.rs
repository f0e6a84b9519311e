//! The balancer's maps. Layouts come from lb-common; user space pins them
//! by these names under /sys/fs/bpf/<instance>/.

use aya_ebpf::{
    bindings::BPF_F_NO_COMMON_LRU,
    macros::map,
    maps::{Array, DevMapHash, HashMap, LruHashMap, PerCpuArray},
};
use lb_common::{
    ConnEntry, Counters, FlowKey, LbConfig, NatReply, PersistEntry, PersistKey, RealConnCounts,
    RealServer, ServiceInfo, ServiceKey, ServiceReals, ServiceState, MAX_CONNS, MAX_PERSIST,
    MAX_REALS, MAX_SERVICES, RING_SIZE,
};

/// (VIP, port, proto) → service.
#[map]
pub static SERVICES: HashMap<ServiceKey, ServiceInfo> = HashMap::with_max_entries(MAX_SERVICES, 0);

/// VIP → number of services on it; ICMP echo is answered for these.
#[map]
pub static VIPS: HashMap<u32, u32> = HashMap::with_max_entries(MAX_SERVICES, 0);

/// Service id → its real servers (for lc/wlc).
#[map]
pub static SERVICE_REALS: Array<ServiceReals> = Array::with_max_entries(MAX_SERVICES, 0);

/// Service id × RING_SIZE + slot → real id: the rr/wrr sequence, the sh/dh
/// bucket table or the Maglev lookup table, built in user space.
#[map]
pub static RINGS: Array<u32> = Array::with_max_entries(MAX_SERVICES * RING_SIZE, 0);

/// Real id → destination.
#[map]
pub static REALS: Array<RealServer> = Array::with_max_entries(MAX_REALS, 0);

/// Real id → active/inactive connections (lc, wlc, `lbctl -L -n`).
#[map]
pub static REAL_CONN_COUNTS: Array<RealConnCounts> = Array::with_max_entries(MAX_REALS, 0);

/// Service id → round-robin cursor, shared by all CPUs so rr stays exact.
#[map]
pub static SERVICE_STATE: Array<ServiceState> = Array::with_max_entries(MAX_SERVICES, 0);

/// Client 5-tuple → connection. Per-CPU LRU lists (no common list) keep
/// inserts on different CPUs from contending for one lock.
#[map]
pub static CONNS: LruHashMap<FlowKey, ConnEntry> =
    LruHashMap::with_max_entries(MAX_CONNS, BPF_F_NO_COMMON_LRU);

/// Reply 5-tuple (RIP:rport → CIP:cport) → NAT translation back to the VIP.
#[map]
pub static NAT_REPLIES: LruHashMap<FlowKey, NatReply> =
    LruHashMap::with_max_entries(MAX_CONNS, BPF_F_NO_COMMON_LRU);

/// (service, client address) → persistent real server.
#[map]
pub static PERSIST: LruHashMap<PersistKey, PersistEntry> =
    LruHashMap::with_max_entries(MAX_PERSIST, BPF_F_NO_COMMON_LRU);

#[map]
pub static SERVICE_STATS: PerCpuArray<Counters> = PerCpuArray::with_max_entries(MAX_SERVICES, 0);

#[map]
pub static REAL_STATS: PerCpuArray<Counters> = PerCpuArray::with_max_entries(MAX_REALS, 0);

/// Indexed by `lb_common::global_stat`.
#[map]
pub static GLOBAL_STATS: PerCpuArray<u64> =
    PerCpuArray::with_max_entries(lb_common::global_stat::COUNT, 0);

/// Entry 0: tunnel source address, flags, timeouts.
#[map]
pub static LB_CONFIG: Array<LbConfig> = Array::with_max_entries(1, 0);

/// ifindex → device, for redirecting NAT traffic to the other leg.
#[map]
pub static TX_PORTS: DevMapHash = DevMapHash::with_max_entries(64, 0);
