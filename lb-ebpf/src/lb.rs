//! The balancer's packet path: parse, find the service, find or make the
//! connection, count, forward. Replies of NAT connections come back through
//! here too.

use crate::conntrack::{account, next_state, timeout_ns};
use crate::forward;
use crate::icmp;
use crate::maps::{CONNS, LB_CONFIG, REALS, SERVICES};
use crate::sched::{pick_real, touch_persistence, usable_real};
use crate::stats;
use aya_ebpf::{bindings::xdp_action, helpers::bpf_ktime_get_coarse_ns, programs::XdpContext};
use aya_log_ebpf::debug;
use lb_common::{
    global_stat, ConnEntry, FlowKey, RealServer, ServiceInfo, ServiceKey, CFG_F_DEBUG_LOG,
    CONN_F_PERSISTENT, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, SVC_F_DROP_UNSCHEDULABLE,
};
use lb_ebpf::parse::{
    ptr_at, EthHdr, Ipv4Hdr, L4Packet, TcpHdr, UdpHdr, ETH_HDR_LEN, ETH_P_IP, IPV4_NO_OPTIONS,
    L4_OFFSET,
};

/// Entry point of the `balancer` program.
#[inline(always)]
pub fn process(ctx: &XdpContext) -> u32 {
    let action = classify(ctx);
    match action {
        xdp_action::XDP_PASS => stats::bump_global(global_stat::PASSED),
        xdp_action::XDP_DROP | xdp_action::XDP_ABORTED => stats::bump_global(global_stat::DROPPED),
        _ => stats::bump_global(global_stat::FORWARDED),
    }
    action
}

#[inline(always)]
fn classify(ctx: &XdpContext) -> u32 {
    let Some(eth) = ptr_at::<EthHdr>(ctx, 0) else {
        return xdp_action::XDP_PASS;
    };
    // SAFETY: bounds checked by ptr_at.
    if unsafe { (*eth).ether_type } != ETH_P_IP.to_be() {
        return xdp_action::XDP_PASS;
    }
    let Some(ip) = ptr_at::<Ipv4Hdr>(ctx, ETH_HDR_LEN) else {
        return xdp_action::XDP_PASS;
    };
    // SAFETY: bounds checked by ptr_at.
    let ip_ref = unsafe { &*ip };
    // Options shift the L4 header and fragments lack it: neither is ours
    // to rewrite, so the stack gets them untouched.
    if ip_ref.version_ihl != IPV4_NO_OPTIONS || ip_ref.is_fragment() {
        return xdp_action::XDP_PASS;
    }
    match ip_ref.proto {
        IPPROTO_ICMP => icmp::handle(ctx, eth, ip),
        IPPROTO_TCP | IPPROTO_UDP => match parse_l4(ctx, eth, ip) {
            Some(pkt) => l4_packet(ctx, &pkt),
            None => xdp_action::XDP_PASS,
        },
        _ => xdp_action::XDP_PASS,
    }
}

#[inline(always)]
fn parse_l4(ctx: &XdpContext, eth: *mut EthHdr, ip: *mut Ipv4Hdr) -> Option<L4Packet> {
    // SAFETY: `ip` was bounds checked by the caller.
    let (proto, saddr, daddr, tot_len) =
        unsafe { ((*ip).proto, (*ip).saddr, (*ip).daddr, (*ip).tot_len) };
    let (sport, dport, tcp_flags) = if proto == IPPROTO_TCP {
        let tcp = ptr_at::<TcpHdr>(ctx, L4_OFFSET)?;
        // SAFETY: bounds checked by ptr_at.
        unsafe { ((*tcp).sport, (*tcp).dport, (*tcp).flags) }
    } else {
        let udp = ptr_at::<UdpHdr>(ctx, L4_OFFSET)?;
        // SAFETY: bounds checked by ptr_at.
        unsafe { ((*udp).sport, (*udp).dport, 0) }
    };
    Some(L4Packet {
        eth,
        ip,
        saddr,
        daddr,
        sport,
        dport,
        proto,
        tcp_flags,
        ip_len: u16::from_be(tot_len),
    })
}

#[inline(always)]
fn l4_packet(ctx: &XdpContext, pkt: &L4Packet) -> u32 {
    let key = ServiceKey {
        vip: pkt.daddr,
        port: pkt.dport,
        proto: pkt.proto,
        _pad: 0,
    };
    let now = now_ns();
    let flow = pkt.flow();
    if let Some((real_id, real, service_id)) = existing_connection(&flow, pkt, now) {
        stats::count(service_id, real_id, false, true, pkt.ip_len as u64);
        return forward::to_real(ctx, pkt, real, real_id, now);
    }
    // SAFETY: the value is copied out before any map update.
    match unsafe { SERVICES.get(key) }.copied() {
        Some(svc) => service_packet(ctx, pkt, &svc, now),
        None => nat_reply_or_pass(ctx, pkt, now),
    }
}

/// The coarse monotonic clock (CLOCK_MONOTONIC_COARSE, tick resolution):
/// timeouts are whole seconds, and it costs a fraction of the precise one.
#[inline(always)]
pub fn now_ns() -> u64 {
    // SAFETY: the helper has no preconditions.
    unsafe { bpf_ktime_get_coarse_ns() }
}

/// A packet to a virtual service.
#[inline(always)]
fn service_packet(ctx: &XdpContext, pkt: &L4Packet, svc: &ServiceInfo, now: u64) -> u32 {
    let flow = pkt.flow();
    let Some((real_id, real)) = new_connection(ctx, &flow, pkt, svc, now) else {
        stats::bump_global(global_stat::NO_REAL);
        return if svc.flags & SVC_F_DROP_UNSCHEDULABLE != 0 {
            xdp_action::XDP_DROP
        } else {
            xdp_action::XDP_PASS
        };
    };
    stats::count(svc.id, real_id, true, true, pkt.ip_len as u64);
    forward::to_real(ctx, pkt, real, real_id, now)
}

/// The real server (id, value, service) of a live connection, with its
/// TCP state advanced. The hit path needs no service lookup: the flow key
/// names the service, and a deleted service's servers are retired, which
/// `usable_real` sees. Expired entries and entries whose server is gone
/// count as absent.
#[inline(always)]
fn existing_connection(
    flow: &FlowKey,
    pkt: &L4Packet,
    now: u64,
) -> Option<(u32, &'static RealServer, u32)> {
    let conn = CONNS.get_ptr_mut(flow)?;
    // SAFETY: a live map value; this flow's packets are the only writers.
    let conn = unsafe { &mut *conn };
    if now.wrapping_sub(conn.last_seen_ns) > timeout_ns(conn.state) {
        return None;
    }
    let real = usable_real(conn.real_id, conn.service_id)?;
    let state = next_state(pkt.proto, conn.state, pkt.tcp_flags);
    if state != conn.state {
        account(conn.real_id, Some(conn.state), state);
        conn.state = state;
    }
    conn.last_seen_ns = now;
    if conn.flags & CONN_F_PERSISTENT != 0 {
        touch_persistence(conn.service_id, flow.saddr, now);
    }
    Some((conn.real_id, real, conn.service_id))
}

#[inline(always)]
fn new_connection(
    ctx: &XdpContext,
    flow: &FlowKey,
    pkt: &L4Packet,
    svc: &ServiceInfo,
    now: u64,
) -> Option<(u32, &'static RealServer)> {
    let real_id = pick_real(svc, flow, now)?;
    let real = usable_real(real_id, svc.id)?;
    let state = next_state(pkt.proto, 0, pkt.tcp_flags);
    let entry = ConnEntry {
        last_seen_ns: now,
        real_id,
        service_id: svc.id,
        state,
        flags: if svc.persist_timeout_s != 0 {
            CONN_F_PERSISTENT
        } else {
            0
        },
        _pad: [0; 6],
    };
    CONNS.insert(flow, entry, 0).ok()?;
    account(real_id, None, state);
    if debug_logging() {
        debug!(
            ctx,
            "new connection: service {} -> real {}", svc.id, real_id
        );
    }
    Some((real_id, real))
}

#[inline(always)]
fn debug_logging() -> bool {
    matches!(LB_CONFIG.get(0), Some(cfg) if cfg.flags & CFG_F_DEBUG_LOG != 0)
}

/// Not a service packet: maybe a NAT reply to translate back.
#[inline(always)]
fn nat_reply_or_pass(ctx: &XdpContext, pkt: &L4Packet, now: u64) -> u32 {
    let Some((action, real_id)) = forward::nat_reply(ctx, pkt, now) else {
        return xdp_action::XDP_PASS;
    };
    if let Some(real) = REALS.get(real_id) {
        stats::count(real.service_id, real_id, false, false, pkt.ip_len as u64);
    }
    action
}
