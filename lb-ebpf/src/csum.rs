//! Internet checksum helpers (RFC 1071, incremental updates per RFC 1624).
//!
//! All values are handled as they sit in memory: the one's-complement sum
//! is byte-order independent, so no swapping is needed.

use crate::parse::Ipv4Hdr;

#[inline(always)]
pub fn fold(mut sum: u64) -> u16 {
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}

/// Updates `check` for a 16-bit word that changed from `old` to `new`:
/// HC' = ~(~HC + ~m + m').
#[inline(always)]
pub fn replace2(check: u16, old: u16, new: u16) -> u16 {
    let sum = (!check as u64) + (!old as u64) + (new as u64);
    !fold(sum)
}

/// Updates `check` for a 32-bit field that changed from `old` to `new`.
#[inline(always)]
pub fn replace4(check: u16, old: u32, new: u32) -> u16 {
    let sum = (!check as u64)
        + ((!old) & 0xffff) as u64
        + ((!old) >> 16) as u64
        + (new & 0xffff) as u64
        + (new >> 16) as u64;
    !fold(sum)
}

/// A UDP checksum of 0 means "none"; a computed 0 is sent as 0xffff.
#[inline(always)]
pub fn udp_fixup(check: u16) -> u16 {
    if check == 0 {
        0xffff
    } else {
        check
    }
}

/// The checksum of a 20-byte IPv4 header whose `check` field is zero.
#[inline(always)]
pub fn ipv4_header(hdr: &Ipv4Hdr) -> u16 {
    let words = hdr as *const Ipv4Hdr as *const u16;
    let mut sum: u64 = 0;
    let mut i = 0;
    while i < 10 {
        // SAFETY: the header is 20 bytes, 10 words, all inside the packet.
        sum += unsafe { core::ptr::read_unaligned(words.add(i)) } as u64;
        i += 1;
    }
    !fold(sum)
}
