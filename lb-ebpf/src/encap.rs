//! IP-in-IP: pushing an outer IPv4 header on the director, stripping it on
//! the real server.

use crate::csum;
use crate::parse::{ptr_at, EthHdr, Ipv4Hdr, ETH_HDR_LEN, ETH_P_IP, IPV4_HDR_LEN, IPV4_NO_OPTIONS};
use aya_ebpf::{helpers::bpf_xdp_adjust_head, programs::XdpContext};
use lb_common::IPPROTO_IPIP;

const OUTER_TTL: u8 = 64;

/// Wraps the packet in an outer header `src → dst` (proto 4) and sets the
/// Ethernet addresses. The inner packet is left byte for byte as it came.
#[inline(always)]
pub fn push_ipip(
    ctx: &XdpContext,
    src: u32,
    dst: u32,
    dst_mac: &[u8; 6],
    src_mac: &[u8; 6],
) -> Option<()> {
    let (inner_len, inner_tos) = {
        let inner = ptr_at::<Ipv4Hdr>(ctx, ETH_HDR_LEN)?;
        // SAFETY: bounds checked by ptr_at.
        unsafe { (u16::from_be((*inner).tot_len), (*inner).tos) }
    };
    // SAFETY: the helper only moves the data pointer; all pointers into the
    // packet are taken again afterwards.
    if unsafe { bpf_xdp_adjust_head(ctx.ctx, -(IPV4_HDR_LEN as i32)) } != 0 {
        return None;
    }
    let eth = ptr_at::<EthHdr>(ctx, 0)?;
    let outer = ptr_at::<Ipv4Hdr>(ctx, ETH_HDR_LEN)?;
    // SAFETY: bounds checked by ptr_at.
    unsafe {
        (*eth).dst = *dst_mac;
        (*eth).src = *src_mac;
        (*eth).ether_type = ETH_P_IP.to_be();
        *outer = Ipv4Hdr {
            version_ihl: IPV4_NO_OPTIONS,
            tos: inner_tos,
            tot_len: (inner_len.wrapping_add(IPV4_HDR_LEN as u16)).to_be(),
            id: 0,
            frag_off: 0,
            ttl: OUTER_TTL,
            proto: IPPROTO_IPIP,
            check: 0,
            saddr: src,
            daddr: dst,
        };
        (*outer).check = csum::ipv4_header(&*outer);
    }
    Some(())
}

/// Strips the outer header of an IP-in-IP packet: the Ethernet header moves
/// forward over it, then the data pointer follows.
#[inline(always)]
pub fn pop_ipip(ctx: &XdpContext) -> Option<()> {
    let eth = ptr_at::<EthHdr>(ctx, 0)?;
    let new_eth = ptr_at::<EthHdr>(ctx, IPV4_HDR_LEN)?;
    // SAFETY: both headers are inside the packet (checked above); they do
    // not overlap (20 bytes apart, 14 bytes long).
    unsafe {
        (*new_eth).dst = (*eth).dst;
        (*new_eth).src = (*eth).src;
        (*new_eth).ether_type = ETH_P_IP.to_be();
        if bpf_xdp_adjust_head(ctx.ctx, IPV4_HDR_LEN as i32) != 0 {
            return None;
        }
    }
    Some(())
}
