//! Header layouts and bounds-checked access to the packet.
//!
//! Every read goes through [`ptr_at`], which proves to the verifier that
//! `offset + size_of::<T>()` lies inside the packet.

use aya_ebpf::programs::XdpContext;
use core::mem::size_of;

pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_HDR_LEN: usize = size_of::<EthHdr>();
pub const IPV4_HDR_LEN: usize = size_of::<Ipv4Hdr>();
/// Offset of the L4 header when the IPv4 header has no options.
pub const L4_OFFSET: usize = ETH_HDR_LEN + IPV4_HDR_LEN;

/// IPv4 version 4 with a 20-byte header: the only form we rewrite.
pub const IPV4_NO_OPTIONS: u8 = 0x45;
/// More-fragments flag and fragment offset, in host order.
const IP_MF_AND_OFFSET: u16 = 0x3fff;

pub const TCP_FIN: u8 = 0x01;
pub const TCP_SYN: u8 = 0x02;
pub const TCP_RST: u8 = 0x04;
pub const TCP_ACK: u8 = 0x10;

#[repr(C)]
pub struct EthHdr {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    /// Network order.
    pub ether_type: u16,
}

#[repr(C)]
pub struct Ipv4Hdr {
    pub version_ihl: u8,
    pub tos: u8,
    pub tot_len: u16,
    pub id: u16,
    pub frag_off: u16,
    pub ttl: u8,
    pub proto: u8,
    pub check: u16,
    pub saddr: u32,
    pub daddr: u32,
}

impl Ipv4Hdr {
    #[inline(always)]
    pub fn is_fragment(&self) -> bool {
        u16::from_be(self.frag_off) & IP_MF_AND_OFFSET != 0
    }
}

/// The first 8 bytes of TCP and UDP alike: the ports sit in the same place.
#[repr(C)]
pub struct Ports {
    pub sport: u16,
    pub dport: u16,
}

#[repr(C)]
pub struct TcpHdr {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack_seq: u32,
    pub data_off: u8,
    pub flags: u8,
    pub window: u16,
    pub check: u16,
    pub urg_ptr: u16,
}

#[repr(C)]
pub struct UdpHdr {
    pub sport: u16,
    pub dport: u16,
    pub len: u16,
    pub check: u16,
}

#[repr(C)]
pub struct IcmpHdr {
    pub type_: u8,
    pub code: u8,
    pub check: u16,
    pub rest: u32,
}

pub const TCP_CHECK_OFFSET: usize = 16;
pub const UDP_CHECK_OFFSET: usize = 6;

/// A pointer to a `T` at `offset`, or `None` when the packet is too short.
#[inline(always)]
pub fn ptr_at<T>(ctx: &XdpContext, offset: usize) -> Option<*mut T> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + offset + size_of::<T>() > end {
        return None;
    }
    Some((start + offset) as *mut T)
}

/// The parts of an IPv4 TCP/UDP packet the balancer decides on.
pub struct L4Packet {
    pub eth: *mut EthHdr,
    pub ip: *mut Ipv4Hdr,
    pub saddr: u32,
    pub daddr: u32,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    /// TCP flags, 0 for UDP.
    pub tcp_flags: u8,
    /// Bytes from the IP header on, as the IPVS byte counters count them.
    pub ip_len: u16,
}

impl L4Packet {
    /// The packet's 5-tuple as the connection maps key it.
    #[inline(always)]
    pub fn flow(&self) -> lb_common::FlowKey {
        lb_common::FlowKey {
            saddr: self.saddr,
            daddr: self.daddr,
            sport: self.sport,
            dport: self.dport,
            proto: self.proto,
            _pad: [0; 3],
        }
    }
}
