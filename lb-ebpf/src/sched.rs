//! Picking a real server for a new connection: persistence first, then the
//! service's scheduler. Tables (rings) are built in user space; here we only
//! index them.

use crate::atomic::fetch_add_u64;
use crate::maps::{PERSIST, REALS, REAL_CONN_COUNTS, RINGS, SERVICE_REALS, SERVICE_STATE};
use aya_ebpf::{cty::c_void, helpers::bpf_loop};
use lb_common::{
    flow_hash, FlowKey, PersistEntry, PersistKey, RealServer, Scheduler, ServiceInfo,
    MAX_REALS_PER_SERVICE, NO_REAL, REAL_F_IN_USE, RING_SIZE,
};

/// A real server that may take traffic of `service_id`.
#[inline(always)]
pub fn usable_real(real_id: u32, service_id: u32) -> Option<&'static RealServer> {
    let real = REALS.get(real_id)?;
    if real.flags & REAL_F_IN_USE == 0 || real.service_id != service_id {
        return None;
    }
    Some(real)
}

#[inline(always)]
fn ring_entry(svc: &ServiceInfo, slot: u32) -> Option<u32> {
    let id = *RINGS.get(svc.id * RING_SIZE + slot)?;
    if id == NO_REAL {
        None
    } else {
        Some(id)
    }
}

/// rr and wrr: the next slot of the ring, with one cursor for all CPUs.
#[inline(always)]
fn round_robin(svc: &ServiceInfo) -> Option<u32> {
    let state = SERVICE_STATE.get_ptr_mut(svc.id)?;
    // SAFETY: a live map value; the cursor is only touched atomically.
    let n = unsafe { fetch_add_u64(core::ptr::addr_of_mut!((*state).rr_cursor), 1) };
    ring_entry(svc, n.checked_rem(svc.ring_len as u64)? as u32)
}

/// The state of an lc/wlc scan, shared with [`lc_step`] through bpf_loop.
#[repr(C)]
struct LeastConnScan {
    service_id: u32,
    weighted: u32,
    best: u32,
    _pad: u32,
    best_overhead: u64,
    best_weight: u64,
}

/// lc and wlc: IPVS' overhead = active × 256 + inactive; wlc divides it by
/// the weight, compared by cross-multiplying as IPVS does. The scan runs
/// under bpf_loop, so the verifier checks its body once instead of once
/// per iteration and per path into it.
#[inline(always)]
fn least_connections(svc: &ServiceInfo, weighted: bool) -> Option<u32> {
    let mut scan = LeastConnScan {
        service_id: svc.id,
        weighted: weighted as u32,
        best: NO_REAL,
        _pad: 0,
        best_overhead: 0,
        best_weight: 1,
    };
    // SAFETY: the callback is a BPF function of this object and the context
    // points to a live stack value for the duration of the call.
    unsafe {
        bpf_loop(
            MAX_REALS_PER_SERVICE as u32,
            lc_step as *mut c_void,
            &mut scan as *mut LeastConnScan as *mut c_void,
            0,
        );
    }
    if scan.best == NO_REAL {
        None
    } else {
        Some(scan.best)
    }
}

/// One real server of an lc/wlc scan; returns 1 to stop after the last.
extern "C" fn lc_step(index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: bpf_loop passes the context given by least_connections.
    let scan = unsafe { &mut *(ctx as *mut LeastConnScan) };
    let Some(reals) = SERVICE_REALS.get(scan.service_id) else {
        return 1;
    };
    if index >= reals.count as u64 {
        return 1;
    }
    let Some(&real_id) = reals.real_ids.get(index as usize) else {
        return 1;
    };
    let Some(real) = usable_real(real_id, scan.service_id) else {
        return 0;
    };
    if real.weight == 0 {
        return 0;
    }
    let Some(counts) = REAL_CONN_COUNTS.get(real_id) else {
        return 0;
    };
    let overhead = counts.active as u64 * 256 + counts.inactive as u64;
    let weight = if scan.weighted != 0 {
        real.weight as u64
    } else {
        1
    };
    if scan.best == NO_REAL || overhead * scan.best_weight < scan.best_overhead * weight {
        scan.best = real_id;
        scan.best_overhead = overhead;
        scan.best_weight = weight;
    }
    0
}

/// Runs the service's scheduler. Every index is checked (`get`,
/// `checked_rem`): a panic path would end the program in `unreachable`,
/// which the verifier rejects.
#[inline(always)]
fn run_scheduler(svc: &ServiceInfo, flow: &FlowKey) -> Option<u32> {
    if svc.ring_len == 0
        && !matches!(
            Scheduler::from_u8(svc.sched)?,
            Scheduler::Lc | Scheduler::Wlc
        )
    {
        return None;
    }
    match Scheduler::from_u8(svc.sched)? {
        Scheduler::Rr | Scheduler::Wrr => round_robin(svc),
        Scheduler::Lc => least_connections(svc, false),
        Scheduler::Wlc => least_connections(svc, true),
        Scheduler::Sh => ring_entry(
            svc,
            flow_hash::hash_addr(flow.saddr).checked_rem(svc.ring_len)?,
        ),
        Scheduler::Dh => ring_entry(
            svc,
            flow_hash::hash_addr(flow.daddr).checked_rem(svc.ring_len)?,
        ),
        Scheduler::Mh => ring_entry(
            svc,
            flow_hash::hash_addr_port(flow.saddr, flow.sport).checked_rem(svc.ring_len)?,
        ),
    }
}

/// Picks the real server of a new connection, honouring persistence: a
/// client seen within the timeout keeps its server (as IPVS' persistence
/// templates do, even on a drained server); otherwise the scheduler picks a
/// server with weight > 0.
#[inline(always)]
pub fn pick_real(svc: &ServiceInfo, flow: &FlowKey, now: u64) -> Option<u32> {
    if svc.persist_timeout_s == 0 {
        return run_scheduler(svc, flow);
    }
    let key = PersistKey {
        service_id: svc.id,
        saddr: flow.saddr,
    };
    let timeout = svc.persist_timeout_s as u64 * 1_000_000_000;
    if let Some(entry) = PERSIST.get_ptr_mut(key) {
        // SAFETY: a live map value of this flow's client.
        let entry = unsafe { &mut *entry };
        if now.wrapping_sub(entry.last_seen_ns) <= timeout
            && usable_real(entry.real_id, svc.id).is_some()
        {
            entry.last_seen_ns = now;
            return Some(entry.real_id);
        }
    }
    let real_id = run_scheduler(svc, flow)?;
    let entry = PersistEntry {
        last_seen_ns: now,
        real_id,
        _pad: 0,
    };
    let _ = PERSIST.insert(key, entry, 0);
    Some(real_id)
}

/// Refreshes the persistence template of an existing connection, so that a
/// client with live traffic keeps its server past the timeout.
#[inline(always)]
pub fn touch_persistence(service_id: u32, saddr: u32, now: u64) {
    let key = PersistKey { service_id, saddr };
    if let Some(entry) = PERSIST.get_ptr_mut(key) {
        // SAFETY: a live map value.
        unsafe { (*entry).last_seen_ns = now };
    }
}
