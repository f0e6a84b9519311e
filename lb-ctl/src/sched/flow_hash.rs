//! The flow hash the data plane uses for `sh`, `dh` and `mh` lookups.
//!
//! The one definition lives in `lb_common::flow_hash`, compiled into both
//! the XDP program and user space, so the two can never drift apart; this
//! module re-exports it under the names user space uses and adds the slot
//! arithmetic of the data plane, so tests and tools can predict which real
//! server a flow gets.
//!
//! Inputs are the raw values as the packet holds them and `lb-common`
//! stores them: the address is the network-order `u32` loaded straight from
//! the IPv4 header, the port the network-order `u16`.
//!
//! Data-plane lookups (`ring_len` = the ring's length, 256 for `sh`/`dh`,
//! the Maglev table size for `mh`):
//! - `sh`: `ring[hash_u32(saddr) % ring_len]`
//! - `dh`: `ring[hash_u32(daddr) % ring_len]`
//! - `mh`: `ring[hash_addr_port(saddr, sport) % ring_len]`

use super::NO_REAL;
use lb_common::{FlowKey, Scheduler};

pub use lb_common::flow_hash::hash_addr_port;

/// Hash of one network-order address (`sh`, `dh`).
#[inline]
pub const fn hash_u32(x: u32) -> u32 {
    lb_common::flow_hash::hash_addr(x)
}

/// The real server the data plane picks for a new `flow` of a hash-based
/// service (`sh`, `dh`, `mh`) whose ring is `ring`. `None` for the other
/// schedulers, an empty ring, or a [`NO_REAL`] slot.
pub fn predict_real(scheduler: Scheduler, ring: &[u32], flow: &FlowKey) -> Option<u32> {
    let hash = match scheduler {
        Scheduler::Sh => hash_u32(flow.saddr),
        Scheduler::Dh => hash_u32(flow.daddr),
        Scheduler::Mh => hash_addr_port(flow.saddr, flow.sport),
        Scheduler::Rr | Scheduler::Wrr | Scheduler::Lc | Scheduler::Wlc => return None,
    };
    let len = u32::try_from(ring.len()).ok().filter(|&len| len > 0)?;
    let id = ring[(hash % len) as usize];
    (id != NO_REAL).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_common::{ip_to_net, port_to_net};
    use std::net::Ipv4Addr;

    #[test]
    fn hashes_depend_on_every_input() {
        assert_ne!(
            hash_u32(0),
            0,
            "address 0 must not hash to slot 0 of every table"
        );
        assert_ne!(hash_u32(1), hash_u32(1 << 24));
        assert_ne!(hash_addr_port(1, 1), hash_addr_port(1, 2));
        assert_ne!(hash_addr_port(1, 1), hash_addr_port(2, 1));
    }

    #[test]
    fn prediction_follows_the_data_plane_arithmetic() {
        let flow = FlowKey {
            saddr: ip_to_net(Ipv4Addr::new(198, 18, 0, 2)),
            daddr: ip_to_net(Ipv4Addr::new(198, 18, 0, 100)),
            sport: port_to_net(40000),
            dport: port_to_net(6379),
            proto: lb_common::IPPROTO_TCP,
            _pad: [0; 3],
        };
        let ring: Vec<u32> = (0..256).collect();
        assert_eq!(
            predict_real(Scheduler::Sh, &ring, &flow),
            Some(hash_u32(flow.saddr) % 256)
        );
        assert_eq!(
            predict_real(Scheduler::Dh, &ring, &flow),
            Some(hash_u32(flow.daddr) % 256)
        );
        let mh: Vec<u32> = (0..65537).collect();
        assert_eq!(
            predict_real(Scheduler::Mh, &mh, &flow),
            Some(hash_addr_port(flow.saddr, flow.sport) % 65537)
        );
        assert_eq!(predict_real(Scheduler::Rr, &ring, &flow), None);
        assert_eq!(predict_real(Scheduler::Sh, &[], &flow), None);
        assert_eq!(predict_real(Scheduler::Sh, &[NO_REAL], &flow), None);
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

    /// Asserts the hashes `make` yields spread uniformly over each of
    /// `bucket_counts` tables.
    fn assert_spreads<I: Iterator<Item = u32>>(make: impl Fn() -> I, bucket_counts: &[u32]) {
        for &buckets in bucket_counts {
            let chi = chi_square(make(), buckets);
            assert!(
                chi < chi_square_bound(buckets),
                "{buckets} buckets: chi² {chi}"
            );
        }
    }

    #[test]
    fn sequential_addresses_spread_over_the_sh_table() {
        assert_spreads(|| sequential_addrs().map(hash_u32), &[256, 10, 7]);
    }

    #[test]
    fn sequential_ports_spread_for_one_client() {
        let client = ip_to_net(Ipv4Addr::new(198, 18, 0, 2));
        assert_spreads(
            || (40000u16..41000).map(move |p| hash_addr_port(client, port_to_net(p))),
            &[256, 10, 7],
        );
    }

    #[test]
    fn sequential_addresses_spread_for_one_port() {
        let port = port_to_net(6379);
        assert_spreads(
            || sequential_addrs().map(move |a| hash_addr_port(a, port)),
            &[256, 10],
        );
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
