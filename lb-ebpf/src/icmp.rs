//! ICMP as LVS and Katran handle it: the director answers pings to its VIPs,
//! and errors about a tracked connection (fragmentation needed, unreachable,
//! time exceeded) go to the real server that owns the connection, so that
//! path-MTU discovery works through the balancer.

use crate::forward;
use crate::maps::{CONNS, VIPS};
use crate::sched::usable_real;
use crate::stats;
use aya_ebpf::{bindings::xdp_action, programs::XdpContext};
use lb_common::{global_stat, FlowKey, Forward, IPPROTO_TCP, IPPROTO_UDP};
use lb_ebpf::csum;
use lb_ebpf::parse::{
    ptr_at, EthHdr, IcmpHdr, Ipv4Hdr, Ports, IPV4_HDR_LEN, IPV4_NO_OPTIONS, L4_OFFSET,
};

const ICMP_ECHO_REPLY: u8 = 0;
const ICMP_DEST_UNREACH: u8 = 3;
const ICMP_ECHO_REQUEST: u8 = 8;
const ICMP_TIME_EXCEEDED: u8 = 11;
const REPLY_TTL: u8 = 64;

/// Where the quoted header of an ICMP error starts.
const INNER_IP_OFFSET: usize = L4_OFFSET + core::mem::size_of::<IcmpHdr>();
const INNER_PORTS_OFFSET: usize = INNER_IP_OFFSET + IPV4_HDR_LEN;

/// Handles an ICMP packet to one of our VIPs; anything else passes.
#[inline(always)]
pub fn handle(ctx: &XdpContext, eth: *mut EthHdr, ip: *mut Ipv4Hdr) -> u32 {
    // SAFETY: `ip` was bounds checked by the caller.
    let daddr = unsafe { (*ip).daddr };
    // SAFETY: a plain lookup; the value is not kept.
    if unsafe { VIPS.get(daddr) }.is_none() {
        return xdp_action::XDP_PASS;
    }
    let Some(icmp) = ptr_at::<IcmpHdr>(ctx, L4_OFFSET) else {
        return xdp_action::XDP_PASS;
    };
    // SAFETY: bounds checked by ptr_at.
    match unsafe { (*icmp).type_ } {
        ICMP_ECHO_REQUEST => echo_reply(eth, ip, icmp),
        ICMP_DEST_UNREACH | ICMP_TIME_EXCEEDED => error_to_real(ctx, ip, icmp, crate::lb::now_ns()),
        _ => xdp_action::XDP_PASS,
    }
}

/// Turns an echo request into the reply in place and sends it back.
#[inline(always)]
fn echo_reply(eth: *mut EthHdr, ip: *mut Ipv4Hdr, icmp: *mut IcmpHdr) -> u32 {
    // SAFETY: all three headers were bounds checked.
    unsafe {
        core::mem::swap(&mut (*eth).dst, &mut (*eth).src);
        // Swapping the addresses leaves the header sum unchanged.
        core::mem::swap(&mut (*ip).saddr, &mut (*ip).daddr);
        let old_ttl_word = u16::from_ne_bytes([(*ip).ttl, (*ip).proto]);
        (*ip).ttl = REPLY_TTL;
        let new_ttl_word = u16::from_ne_bytes([(*ip).ttl, (*ip).proto]);
        (*ip).check = csum::replace2((*ip).check, old_ttl_word, new_ttl_word);
        let old_type_word = u16::from_ne_bytes([(*icmp).type_, (*icmp).code]);
        (*icmp).type_ = ICMP_ECHO_REPLY;
        let new_type_word = u16::from_ne_bytes([(*icmp).type_, (*icmp).code]);
        (*icmp).check = csum::replace2((*icmp).check, old_type_word, new_type_word);
    }
    stats::bump_global(global_stat::ICMP_ECHO_REPLIED);
    xdp_action::XDP_TX
}

/// Forwards an ICMP error quoting one of our connections to its real server.
#[inline(always)]
fn error_to_real(ctx: &XdpContext, ip: *mut Ipv4Hdr, icmp: *mut IcmpHdr, now: u64) -> u32 {
    let (Some(inner), Some(ports)) = (
        ptr_at::<Ipv4Hdr>(ctx, INNER_IP_OFFSET),
        ptr_at::<Ports>(ctx, INNER_PORTS_OFFSET),
    ) else {
        return xdp_action::XDP_PASS;
    };
    // SAFETY: bounds checked by ptr_at.
    let (inner_ihl, inner_proto, inner_src, inner_dst, inner_sport, inner_dport) = unsafe {
        (
            (*inner).version_ihl,
            (*inner).proto,
            (*inner).saddr,
            (*inner).daddr,
            (*ports).sport,
            (*ports).dport,
        )
    };
    if inner_ihl != IPV4_NO_OPTIONS || (inner_proto != IPPROTO_TCP && inner_proto != IPPROTO_UDP) {
        return xdp_action::XDP_PASS;
    }
    // The quoted packet went VIP → client; the connection is client → VIP.
    let flow = FlowKey {
        saddr: inner_dst,
        daddr: inner_src,
        sport: inner_dport,
        dport: inner_sport,
        proto: inner_proto,
        _pad: [0; 3],
    };
    // SAFETY: a plain lookup; the value is copied out.
    let Some(conn) = (unsafe { CONNS.get(flow) }).copied() else {
        return xdp_action::XDP_PASS;
    };
    let Some(real) = usable_real(conn.real_id, conn.service_id) else {
        return xdp_action::XDP_PASS;
    };
    stats::bump_global(global_stat::ICMP_ERRORS_FORWARDED);
    let Some(eth) = ptr_at::<EthHdr>(ctx, 0) else {
        return xdp_action::XDP_PASS;
    };
    if Forward::from_u8(real.forward) == Some(Forward::Nat) {
        // The real server knows the connection as RIP:rport, so both the
        // outer destination and the quoted source must say so.
        // SAFETY: all headers were bounds checked above.
        unsafe {
            (*ip).check = csum::replace4((*ip).check, (*ip).daddr, real.rip);
            (*ip).daddr = real.rip;
            let mut icmp_check = (*icmp).check;
            icmp_check = csum::replace4(icmp_check, inner_src, real.rip);
            icmp_check = csum::replace2(icmp_check, inner_sport, real.rport);
            let old_inner_check = (*inner).check;
            let new_inner_check = csum::replace4(old_inner_check, inner_src, real.rip);
            icmp_check = csum::replace2(icmp_check, old_inner_check, new_inner_check);
            (*inner).saddr = real.rip;
            (*inner).check = new_inner_check;
            (*ports).sport = real.rport;
            (*icmp).check = icmp_check;
        }
    }
    let pkt = lb_ebpf::parse::L4Packet {
        eth,
        ip,
        saddr: flow.saddr,
        daddr: flow.daddr,
        sport: flow.sport,
        dport: flow.dport,
        proto: flow.proto,
        tcp_flags: 0,
        ip_len: 0,
    };
    match Forward::from_u8(real.forward) {
        Some(Forward::Nat) => forward::send_rewritten(ctx, &pkt, real),
        _ => forward::to_real(ctx, &pkt, real, conn.real_id, now),
    }
}
