//! The flow hash the data plane uses for `sh`, `dh` and `mh` lookups.
//!
//! The XDP program must compute exactly these functions; they live here so
//! that user space (tests, `lbctl`) can predict which real server a flow
//! gets.
//!
//! # Definition
//!
//! Both functions are MurmurHash3_x86_32 (Austin Appleby's public-domain
//! hash) with seed 0, over one or two 32-bit little-endian blocks, fully
//! unrolled (no loops, no tables, so the eBPF verifier is happy):
//!
//! ```text
//! mix(h, k):  k *= 0xcc9e2d51; k = rotl32(k, 15); k *= 0x1b873593;
//!             h ^= k; h = rotl32(h, 13); h = h * 5 + 0xe6546b64
//! fmix32(h):  h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13;
//!             h *= 0xc2b2ae35; h ^= h >> 16
//!
//! hash_u32(x)             = fmix32(mix(0, x) ^ 4)
//! hash_addr_port(a, p)    = fmix32(mix(mix(0, a), p as u32) ^ 8)
//! ```
//!
//! All arithmetic wraps modulo 2^32. `x`, `a` and `p` are the raw values
//! as the packet holds them and `lb-common` stores them: the address is the
//! network-order `u32` loaded straight from the IPv4 header (so on a
//! little-endian host `hash_u32(addr)` is MurmurHash3 over the four address
//! octets), the port is the network-order `u16` zero-extended to 32 bits.
//!
//! Data-plane lookups:
//! - `sh`: `ring[hash_u32(saddr) % 256]`
//! - `dh`: `ring[hash_u32(daddr) % 256]`
//! - `mh`: `ring[hash_addr_port(saddr, sport) % 65537]`

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// One MurmurHash3_x86_32 body round: folds the 32-bit block `k` into `h`.
#[inline(always)]
const fn mix(h: u32, k: u32) -> u32 {
    let k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    (h ^ k)
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

/// MurmurHash3's final avalanche.
#[inline(always)]
const fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// Hash of one address (network-order raw `u32`), for `sh` and `dh`.
#[inline]
pub const fn hash_u32(x: u32) -> u32 {
    fmix32(mix(0, x) ^ 4)
}

/// Hash of an address and a port (both network-order raw values), for `mh`.
#[inline]
pub const fn hash_addr_port(addr: u32, port: u16) -> u32 {
    fmix32(mix(mix(0, addr), port as u32) ^ 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_common::{ip_to_net, port_to_net};
    use std::net::Ipv4Addr;

    /// Reference MurmurHash3_x86_32 over any byte string, written from the
    /// algorithm's description, to check the unrolled versions against the
    /// published test vectors.
    fn murmur3_32(data: &[u8], seed: u32) -> u32 {
        let mut h = seed;
        let mut blocks = data.chunks_exact(4);
        for block in &mut blocks {
            h = mix(h, u32::from_le_bytes(block.try_into().unwrap()));
        }
        let tail = blocks.remainder();
        if !tail.is_empty() {
            let mut k = 0u32;
            for (i, &b) in tail.iter().enumerate() {
                k |= (b as u32) << (8 * i);
            }
            h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        }
        fmix32(h ^ data.len() as u32)
    }

    #[test]
    fn reference_matches_published_murmur3_vectors() {
        assert_eq!(murmur3_32(b"", 0), 0);
        assert_eq!(murmur3_32(b"", 1), 0x514e_28b7);
        assert_eq!(murmur3_32(b"test", 0), 0xba6b_d213);
        assert_eq!(murmur3_32(b"Hello, world!", 1234), 0xfaf6_cdb3);
        assert_eq!(
            murmur3_32(b"The quick brown fox jumps over the lazy dog", 0),
            0x2e4f_f723
        );
    }

    #[test]
    fn unrolled_hashes_equal_murmur3_over_the_raw_bytes() {
        assert_eq!(hash_u32(u32::from_le_bytes(*b"test")), 0xba6b_d213);
        for (addr, port) in [(0u32, 0u16), (0x6400_12c6, 0xeb18), (u32::MAX, u16::MAX)] {
            assert_eq!(hash_u32(addr), murmur3_32(&addr.to_le_bytes(), 0));
            let mut bytes = addr.to_le_bytes().to_vec();
            bytes.extend_from_slice(&(port as u32).to_le_bytes());
            assert_eq!(hash_addr_port(addr, port), murmur3_32(&bytes, 0));
        }
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn on_little_endian_the_address_hash_is_murmur3_of_the_octets() {
        let ip = Ipv4Addr::new(198, 18, 0, 2);
        assert_eq!(hash_u32(ip_to_net(ip)), murmur3_32(&ip.octets(), 0));
    }

    /// Pearson's chi-square statistic of `keys` hashed into `buckets`.
    fn chi_square(hashes: impl Iterator<Item = u32>, buckets: u32) -> f64 {
        let mut counts = vec![0u32; buckets as usize];
        let mut n = 0u32;
        for h in hashes {
            counts[(h % buckets) as usize] += 1;
            n += 1;
        }
        let expected = n as f64 / buckets as f64;
        counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum()
    }

    /// Upper bound for a chi-square statistic with `buckets - 1` degrees of
    /// freedom: mean + 5 standard deviations (k + 5·sqrt(2k)), far beyond
    /// what a uniform hash produces, far below what a bad one does.
    fn chi_square_bound(buckets: u32) -> f64 {
        let k = (buckets - 1) as f64;
        k + 5.0 * (2.0 * k).sqrt()
    }

    fn sequential_addrs() -> impl Iterator<Item = u32> {
        let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
        (0..1000).map(move |i| ip_to_net(Ipv4Addr::from(base + i)))
    }

    #[test]
    fn sequential_addresses_spread_over_the_sh_table() {
        for buckets in [256, 10, 7] {
            let chi = chi_square(sequential_addrs().map(hash_u32), buckets);
            assert!(
                chi < chi_square_bound(buckets),
                "{buckets} buckets: chi² {chi}"
            );
        }
    }

    #[test]
    fn sequential_ports_spread_for_one_client() {
        let client = ip_to_net(Ipv4Addr::new(198, 18, 0, 2));
        for buckets in [256, 10, 7] {
            let hashes = (40000u16..41000).map(|p| hash_addr_port(client, port_to_net(p)));
            let chi = chi_square(hashes, buckets);
            assert!(
                chi < chi_square_bound(buckets),
                "{buckets} buckets: chi² {chi}"
            );
        }
    }

    #[test]
    fn sequential_addresses_spread_for_one_port() {
        let port = port_to_net(6379);
        for buckets in [256, 10] {
            let hashes = sequential_addrs().map(|a| hash_addr_port(a, port));
            let chi = chi_square(hashes, buckets);
            assert!(
                chi < chi_square_bound(buckets),
                "{buckets} buckets: chi² {chi}"
            );
        }
    }

    #[test]
    fn the_maglev_index_rarely_collides() {
        // 1000 flows into 65537 slots: a uniform hash collides about
        // 1000²/(2·65537) ≈ 7.6 times; allow a generous margin.
        let client = ip_to_net(Ipv4Addr::new(198, 18, 0, 2));
        let mut slots: Vec<u32> = (40000u16..41000)
            .map(|p| hash_addr_port(client, port_to_net(p)) % 65537)
            .collect();
        slots.sort_unstable();
        slots.dedup();
        assert!(
            slots.len() >= 1000 - 25,
            "only {} distinct slots",
            slots.len()
        );
    }
}
