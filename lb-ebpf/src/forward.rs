//! The three ways to a real server (DR, TUN, NAT) and the NAT return path.

use crate::maps::{LB_CONFIG, NAT_REPLIES, TX_PORTS};
use aya_ebpf::{
    bindings::{bpf_fib_lookup, xdp_action, BPF_FIB_LKUP_RET_SUCCESS},
    helpers::bpf_fib_lookup as fib_lookup,
    programs::XdpContext,
};
use lb_common::{FlowKey, Forward, NatReply, RealServer, IPPROTO_TCP, IPPROTO_UDP};
use lb_ebpf::csum;
use lb_ebpf::encap::push_ipip;
use lb_ebpf::parse::{
    ptr_at, EthHdr, L4Packet, Ports, L4_OFFSET, TCP_CHECK_OFFSET, UDP_CHECK_OFFSET,
};

const AF_INET: u8 = 2;

/// Sends the packet towards `real` the way the real server is configured.
#[inline(always)]
pub fn to_real(ctx: &XdpContext, pkt: &L4Packet, real: &RealServer, real_id: u32, now: u64) -> u32 {
    match Forward::from_u8(real.forward) {
        Some(Forward::Dr) => {
            set_macs(pkt, &real.next_hop_mac, &real.src_mac);
            xdp_action::XDP_TX
        }
        Some(Forward::Tun) => {
            let tunnel_src = match LB_CONFIG.get(0) {
                Some(cfg) => cfg.tunnel_src,
                None => return xdp_action::XDP_ABORTED,
            };
            match push_ipip(ctx, tunnel_src, real.rip, &real.next_hop_mac, &real.src_mac) {
                Some(()) => xdp_action::XDP_TX,
                None => xdp_action::XDP_ABORTED,
            }
        }
        Some(Forward::Nat) => nat_to_real(ctx, pkt, real, real_id, now),
        None => xdp_action::XDP_PASS,
    }
}

#[inline(always)]
fn set_macs(pkt: &L4Packet, dst: &[u8; 6], src: &[u8; 6]) {
    // SAFETY: `eth` was bounds checked when the packet was parsed and the
    // packet has not been resized since.
    unsafe {
        (*pkt.eth).dst = *dst;
        (*pkt.eth).src = *src;
    }
}

/// Rewrites one address and port of the packet, fixing the IP and L4
/// checksums incrementally. `source` picks saddr/sport, else daddr/dport.
#[inline(always)]
fn rewrite_endpoint(
    ctx: &XdpContext,
    pkt: &L4Packet,
    source: bool,
    addr: u32,
    port: u16,
) -> Option<()> {
    let ports = ptr_at::<Ports>(ctx, L4_OFFSET)?;
    let check_offset = if pkt.proto == IPPROTO_TCP {
        L4_OFFSET + TCP_CHECK_OFFSET
    } else {
        L4_OFFSET + UDP_CHECK_OFFSET
    };
    let check = ptr_at::<u16>(ctx, check_offset)?;
    // SAFETY: every pointer was bounds checked above.
    unsafe {
        let ip = pkt.ip;
        let (old_addr, old_port) = if source {
            ((*ip).saddr, (*ports).sport)
        } else {
            ((*ip).daddr, (*ports).dport)
        };
        if source {
            (*ip).saddr = addr;
            (*ports).sport = port;
        } else {
            (*ip).daddr = addr;
            (*ports).dport = port;
        }
        (*ip).check = csum::replace4((*ip).check, old_addr, addr);
        let old_check = core::ptr::read_unaligned(check);
        // A zero UDP checksum means "not computed" and must stay zero.
        if pkt.proto == IPPROTO_UDP && old_check == 0 {
            return Some(());
        }
        let mut new_check = csum::replace4(old_check, old_addr, addr);
        new_check = csum::replace2(new_check, old_port, port);
        if pkt.proto == IPPROTO_UDP {
            new_check = csum::udp_fixup(new_check);
        }
        core::ptr::write_unaligned(check, new_check);
    }
    Some(())
}

/// NAT towards the real server: remember how to translate the replies,
/// rewrite VIP:vport to RIP:rport, then send it to the backend leg.
#[inline(always)]
fn nat_to_real(ctx: &XdpContext, pkt: &L4Packet, real: &RealServer, real_id: u32, now: u64) -> u32 {
    let reply_key = FlowKey {
        saddr: real.rip,
        daddr: pkt.saddr,
        sport: real.rport,
        dport: pkt.sport,
        proto: pkt.proto,
        _pad: [0; 3],
    };
    match NAT_REPLIES.get_ptr_mut(reply_key) {
        // SAFETY: a live map value.
        Some(entry) if unsafe { (*entry).real_id } == real_id => unsafe {
            (*entry).last_seen_ns = now;
        },
        _ => {
            if remember_reply(ctx, pkt, &reply_key, real_id, now).is_none() {
                return xdp_action::XDP_ABORTED;
            }
        }
    }
    if rewrite_endpoint(ctx, pkt, false, real.rip, real.rport).is_none() {
        return xdp_action::XDP_ABORTED;
    }
    send_rewritten(ctx, pkt, real)
}

/// Records how replies on `reply_key` are translated back to the client.
#[inline(always)]
fn remember_reply(
    ctx: &XdpContext,
    pkt: &L4Packet,
    reply_key: &FlowKey,
    real_id: u32,
    now: u64,
) -> Option<()> {
    // SAFETY: `eth` was bounds checked at parse time.
    let (client_hop_mac, our_mac) = unsafe { ((*pkt.eth).src, (*pkt.eth).dst) };
    let reply = NatReply {
        last_seen_ns: now,
        vip: pkt.daddr,
        real_id,
        client_ifindex: ctx.ingress_ifindex() as u32,
        vport: pkt.dport,
        client_hop_mac,
        our_mac,
        _pad: [0; 2],
    };
    NAT_REPLIES.insert(reply_key, reply, 0).ok()
}

/// Sends a packet already rewritten for a NAT real server to its next hop:
/// the one lb-ctl resolved, else the kernel FIB's.
#[inline(always)]
pub fn send_rewritten(ctx: &XdpContext, pkt: &L4Packet, real: &RealServer) -> u32 {
    if real.ifindex != 0 {
        set_macs(pkt, &real.next_hop_mac, &real.src_mac);
        return transmit(ctx, real.ifindex);
    }
    route_by_fib(ctx, pkt)
}

/// NAT replies: RIP:rport → CIP:cport becomes VIP:vport → CIP:cport and
/// goes back out the way the client's packets came in. Returns `None` when
/// the packet is not a reply we track.
#[inline(always)]
pub fn nat_reply(ctx: &XdpContext, pkt: &L4Packet, now: u64) -> Option<(u32, u32)> {
    let entry = NAT_REPLIES.get_ptr_mut(pkt.flow())?;
    // SAFETY: a live map value.
    let entry = unsafe { &mut *entry };
    entry.last_seen_ns = now;
    rewrite_endpoint(ctx, pkt, true, entry.vip, entry.vport)?;
    set_macs(pkt, &entry.client_hop_mac, &entry.our_mac);
    Some((transmit(ctx, entry.client_ifindex), entry.real_id))
}

/// XDP_TX when the way out is the way in, else a redirect through the
/// devmap; an interface missing from it falls back to the stack.
#[inline(always)]
fn transmit(ctx: &XdpContext, ifindex: u32) -> u32 {
    if ifindex == ctx.ingress_ifindex() as u32 {
        return xdp_action::XDP_TX;
    }
    match TX_PORTS.redirect(ifindex, xdp_action::XDP_PASS as u64) {
        Ok(action) | Err(action) => action,
    }
}

/// Asks the kernel's FIB for the next hop of the rewritten packet. Without
/// an answer (no route, no neighbour yet) the stack forwards it and
/// resolves the neighbour for the next packet.
#[inline(always)]
fn route_by_fib(ctx: &XdpContext, pkt: &L4Packet) -> u32 {
    // SAFETY: zero is a valid bit pattern for this plain C struct.
    let mut params: bpf_fib_lookup = unsafe { core::mem::zeroed() };
    params.family = AF_INET;
    params.l4_protocol = pkt.proto;
    params.ifindex = ctx.ingress_ifindex() as u32;
    // SAFETY: the IP header was bounds checked at parse time.
    unsafe {
        params.__bindgen_anon_1.tot_len = u16::from_be((*pkt.ip).tot_len);
        params.__bindgen_anon_3.ipv4_src = (*pkt.ip).saddr;
        params.__bindgen_anon_4.ipv4_dst = (*pkt.ip).daddr;
    }
    // SAFETY: params is a valid, writable struct of the size passed.
    let rc = unsafe {
        fib_lookup(
            ctx.ctx as *mut _,
            &mut params,
            core::mem::size_of::<bpf_fib_lookup>() as i32,
            0,
        )
    };
    if rc != BPF_FIB_LKUP_RET_SUCCESS as i64 {
        return xdp_action::XDP_PASS;
    }
    let Some(eth) = ptr_at::<EthHdr>(ctx, 0) else {
        return xdp_action::XDP_ABORTED;
    };
    // SAFETY: bounds checked by ptr_at.
    unsafe {
        (*eth).dst = params.dmac;
        (*eth).src = params.smac;
    }
    transmit(ctx, params.ifindex)
}
