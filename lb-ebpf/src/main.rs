//! The `balancer` XDP program: LVS' DR, NAT and TUN forwarding with an
//! IPVS-style connection table. The entry point stays short; see `lb` for
//! the packet path.
#![no_std]
#![no_main]
#![feature(core_intrinsics)]
#![allow(internal_features)]

mod atomic;
mod conntrack;
mod forward;
mod icmp;
mod lb;
mod maps;
mod sched;
mod stats;

use aya_ebpf::{macros::xdp, programs::XdpContext};

#[xdp]
pub fn balancer(ctx: XdpContext) -> u32 {
    lb::process(&ctx)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
