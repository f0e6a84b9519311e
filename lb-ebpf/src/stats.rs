//! Per-CPU counters: no atomics needed on the hot path.

use crate::maps::{GLOBAL_STATS, REAL_STATS, SERVICE_STATS};
use aya_ebpf::maps::PerCpuArray;
use lb_common::Counters;

#[inline(always)]
pub fn bump_global(index: u32) {
    if let Some(v) = GLOBAL_STATS.get_ptr_mut(index) {
        // SAFETY: per-CPU slot, only this CPU writes it.
        unsafe { *v += 1 };
    }
}

#[inline(always)]
fn add(map: &PerCpuArray<Counters>, index: u32, new_conn: bool, inbound: bool, bytes: u64) {
    let Some(c) = map.get_ptr_mut(index) else {
        return;
    };
    // SAFETY: per-CPU slot, only this CPU writes it.
    let c = unsafe { &mut *c };
    if new_conn {
        c.conns += 1;
    }
    if inbound {
        c.packets_in += 1;
        c.bytes_in += bytes;
    } else {
        c.packets_out += 1;
        c.bytes_out += bytes;
    }
}

/// Counts one packet of a service flow, in either direction.
#[inline(always)]
pub fn count(service_id: u32, real_id: u32, new_conn: bool, inbound: bool, bytes: u64) {
    add(&SERVICE_STATS, service_id, new_conn, inbound, bytes);
    add(&REAL_STATS, real_id, new_conn, inbound, bytes);
}
