//! The `decap` XDP program for real servers: strips the outer header of
//! IP-in-IP packets addressed to this host and hands the inner packet to
//! the stack. These kernels have no ipip module, so this does the tunnel's
//! receive side. The object also carries `pass`, a program that passes
//! everything, for veth peers that must merely have a program attached.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::xdp_action,
    macros::{map, xdp},
    maps::HashMap,
    programs::XdpContext,
};
use lb_common::IPPROTO_IPIP;
use lb_ebpf::encap::pop_ipip;
use lb_ebpf::parse::{ptr_at, EthHdr, Ipv4Hdr, ETH_HDR_LEN, ETH_P_IP, IPV4_HDR_LEN};

/// Local addresses whose IP-in-IP packets are decapsulated.
#[map]
static DECAP_DSTS: HashMap<u32, u32> = HashMap::with_max_entries(64, 0);

#[xdp]
pub fn decap(ctx: XdpContext) -> u32 {
    let _ = try_decap(&ctx);
    xdp_action::XDP_PASS
}

#[xdp]
pub fn pass(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

fn try_decap(ctx: &XdpContext) -> Option<()> {
    let eth = ptr_at::<EthHdr>(ctx, 0)?;
    // SAFETY: bounds checked by ptr_at.
    if unsafe { (*eth).ether_type } != ETH_P_IP.to_be() {
        return None;
    }
    let outer = ptr_at::<Ipv4Hdr>(ctx, ETH_HDR_LEN)?;
    let inner = ptr_at::<Ipv4Hdr>(ctx, ETH_HDR_LEN + IPV4_HDR_LEN)?;
    // SAFETY: bounds checked by ptr_at.
    let (outer, inner) = unsafe { (&*outer, &*inner) };
    if outer.version_ihl != 0x45
        || outer.proto != IPPROTO_IPIP
        || outer.is_fragment()
        || inner.version_ihl >> 4 != 4
    {
        return None;
    }
    // SAFETY: a plain lookup; the value is not kept.
    unsafe { DECAP_DSTS.get(outer.daddr) }?;
    pop_ipip(ctx)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
