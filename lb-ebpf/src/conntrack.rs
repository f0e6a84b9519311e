//! Connection tracking as IPVS does it for directors that see only the
//! client's half of a TCP connection (DR and TUN; NAT uses the same table).

use crate::atomic::{add_u32, dec_u32_saturating};
use crate::maps::{LB_CONFIG, REAL_CONN_COUNTS};
use lb_common::{ConnState, IPPROTO_TCP};
use lb_ebpf::parse::{TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN};

const ES: u8 = ConnState::Established as u8;
const SS: u8 = ConnState::SynSent as u8;
const SR: u8 = ConnState::SynRecv as u8;
const FW: u8 = ConnState::FinWait as u8;
const TW: u8 = ConnState::TimeWait as u8;
const CL: u8 = ConnState::Close as u8;
const CW: u8 = ConnState::CloseWait as u8;
const LA: u8 = ConnState::LastAck as u8;
const LI: u8 = ConnState::Listen as u8;

/// IPVS' "INPUT-ONLY" transition table (ip_vs_proto_tcp.c), rows syn, fin,
/// ack, rst; columns the current state in `ConnState` order up to SynAck.
const INPUT_ONLY: [[u8; 11]; 4] = [
    /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
    /* fin */ [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
    /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
    /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL],
];

/// Which row of the table a segment selects: RST wins, then SYN, FIN, ACK.
#[inline(always)]
fn tcp_event(flags: u8) -> Option<usize> {
    if flags & TCP_RST != 0 {
        Some(3)
    } else if flags & TCP_SYN != 0 {
        Some(0)
    } else if flags & TCP_FIN != 0 {
        Some(1)
    } else if flags & TCP_ACK != 0 {
        Some(2)
    } else {
        None
    }
}

/// The state after a segment with `flags` in state `state`.
#[inline(always)]
pub fn next_state(proto: u8, state: u8, flags: u8) -> u8 {
    if proto != IPPROTO_TCP {
        return ConnState::Udp as u8;
    }
    let Some(event) = tcp_event(flags) else {
        return state;
    };
    match INPUT_ONLY
        .get(event)
        .and_then(|row| row.get(state as usize))
    {
        Some(&next) => next,
        None => state,
    }
}

/// How long an entry in `state` lives without traffic, in nanoseconds.
#[inline(always)]
pub fn timeout_ns(state: u8) -> u64 {
    let idx = state as usize;
    let secs = match LB_CONFIG.get(0) {
        Some(cfg) => cfg.timeouts.by_state.get(idx).copied().unwrap_or(0),
        None => 0,
    };
    secs as u64 * 1_000_000_000
}

/// Adjusts the active/inactive counts of `real_id` for a connection that
/// moves from `old` (`None` for a new one) to `new`.
#[inline(always)]
pub fn account(real_id: u32, old: Option<u8>, new: u8) {
    let Some(counts) = REAL_CONN_COUNTS.get_ptr_mut(real_id) else {
        return;
    };
    let new_active = ConnState::from_u8(new).is_active();
    // SAFETY: a live map value; its fields are only touched atomically here
    // (user space rewrites them wholesale).
    unsafe {
        let active = core::ptr::addr_of_mut!((*counts).active);
        let inactive = core::ptr::addr_of_mut!((*counts).inactive);
        let (from, to) = if new_active {
            (inactive, active)
        } else {
            (active, inactive)
        };
        match old {
            None => add_u32(to, 1),
            Some(old) if ConnState::from_u8(old).is_active() != new_active => {
                dec_u32_saturating(from);
                add_u32(to, 1);
            }
            Some(_) => {}
        }
    }
}
