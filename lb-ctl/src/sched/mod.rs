//! Scheduler tables that user space computes and the data plane reads.
//!
//! The XDP program picks a real server for a new connection from a
//! per-service *ring* (an array of real-server ids, `ring_len` entries long):
//!
//! | scheduler | data-plane lookup                                   | ring built by          |
//! |-----------|-----------------------------------------------------|------------------------|
//! | `rr`      | `ring[cursor++ % ring_len]`                         | [`wrr::rr_sequence`]   |
//! | `wrr`     | `ring[cursor++ % ring_len]`                         | [`wrr::wrr_sequence`]  |
//! | `sh`      | `ring[flow_hash::hash_u32(saddr) % 256]`            | [`hash_table::hash_buckets`] |
//! | `dh`      | `ring[flow_hash::hash_u32(daddr) % 256]`            | [`hash_table::dh_buckets`]   |
//! | `mh`      | `ring[flow_hash::hash_addr_port(saddr, sport) % M]` | [`maglev::maglev_table`] |
//! | `lc`, `wlc` | scan of the service's real servers, no ring       | —                      |
//!
//! Everything here is pure and deterministic: two directors fed the same
//! configuration build byte-identical rings, so a flow keeps its server when
//! the VIP fails over.

pub mod flow_hash;
pub mod hash_table;
pub mod maglev;
pub mod wrr;

use lb_common::{Scheduler, HASH_TABLE_SIZE, RING_SIZE};

/// Ring entry that means "no real server can take this flow" (every server
/// is drained or the service has none); `u32::MAX`. The data plane treats it
/// as a scheduling failure. Defined once in `lb-common` for both sides.
pub use lb_common::NO_REAL;

/// Why a scheduler table could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedError {
    /// Maglev needs a prime table size so that every skip value is coprime
    /// with it and each permutation visits every slot.
    #[error("Maglev table size {0} is not a prime number (65537 is the usual choice)")]
    SizeNotPrime(u32),
    /// The table would not fit the data plane's ring.
    #[error("table size {size} exceeds the ring capacity {max}")]
    TooLarge { size: u32, max: u32 },
}

/// One real server as the ring builders see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The real-server id the data plane resolves (index into `REALS`).
    pub id: u32,
    /// IPVS weight; 0 = drained, gets no new flows.
    pub weight: u32,
    /// Stable identity used by Maglev to derive the server's permutation,
    /// e.g. `"198.18.0.21:6379"`. It must not depend on the id (ids are slot
    /// numbers and can differ between directors) so that both directors,
    /// and a restarted one, agree on the table.
    pub key: Vec<u8>,
}

impl Backend {
    pub fn new(id: u32, weight: u32, key: impl AsRef<[u8]>) -> Backend {
        Backend {
            id,
            weight,
            key: key.as_ref().to_vec(),
        }
    }
}

/// Builds the ring a service with `scheduler` needs, sized for the data
/// plane (at most [`RING_SIZE`] entries). Schedulers that don't use a ring
/// (`lc`, `wlc`) get an empty one.
///
/// The result is never empty for a ring scheduler: when no server has a
/// positive weight it holds [`NO_REAL`] entries, so the data plane's
/// `% ring_len` is always defined.
pub fn build_ring(scheduler: Scheduler, backends: &[Backend]) -> Result<Vec<u32>, SchedError> {
    let pairs: Vec<(u32, u32)> = backends.iter().map(|b| (b.id, b.weight)).collect();
    let ring = match scheduler {
        Scheduler::Rr => wrr::rr_sequence(&pairs),
        Scheduler::Wrr => wrr::wrr_sequence(&pairs, RING_SIZE),
        Scheduler::Sh => hash_table::hash_buckets(&pairs),
        Scheduler::Dh => hash_table::dh_buckets(&pairs),
        Scheduler::Mh => maglev::maglev_table(backends, RING_SIZE)?,
        Scheduler::Lc | Scheduler::Wlc => return Ok(Vec::new()),
    };
    if ring.is_empty() {
        return Ok(vec![NO_REAL]);
    }
    debug_assert!(ring.len() <= RING_SIZE as usize);
    debug_assert!(scheduler != Scheduler::Sh || ring.len() == HASH_TABLE_SIZE as usize);
    Ok(ring)
}

/// Greatest common divisor (Euclid).
pub(crate) fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
pub(crate) mod test_util {
    use std::collections::HashMap;

    /// How many entries of `table` each id holds.
    pub fn counts(table: &[u32]) -> HashMap<u32, usize> {
        let mut counts = HashMap::new();
        for &id in table {
            *counts.entry(id).or_insert(0) += 1;
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::counts;
    use super::*;

    fn backends(weights: &[u32]) -> Vec<Backend> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &w)| Backend::new(i as u32, w, format!("198.18.0.{}:6379", 21 + i)))
            .collect()
    }

    #[test]
    fn gcd_of_pairs() {
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(gcd(7, 0), 7);
        assert_eq!(gcd(0, 7), 7);
        assert_eq!(gcd(13, 5), 1);
    }

    #[test]
    fn ring_sizes_match_the_data_plane_lookups() {
        let b = backends(&[1, 2, 3]);
        assert_eq!(build_ring(Scheduler::Rr, &b).unwrap(), vec![0, 1, 2]);
        assert_eq!(build_ring(Scheduler::Wrr, &b).unwrap().len(), 6);
        assert_eq!(build_ring(Scheduler::Sh, &b).unwrap().len(), 256);
        assert_eq!(build_ring(Scheduler::Dh, &b).unwrap().len(), 256);
        assert_eq!(
            build_ring(Scheduler::Mh, &b).unwrap().len(),
            RING_SIZE as usize
        );
        assert!(build_ring(Scheduler::Lc, &b).unwrap().is_empty());
        assert!(build_ring(Scheduler::Wlc, &b).unwrap().is_empty());
    }

    #[test]
    fn all_drained_rings_hold_only_no_real() {
        let b = backends(&[0, 0]);
        for s in [
            Scheduler::Rr,
            Scheduler::Wrr,
            Scheduler::Sh,
            Scheduler::Dh,
            Scheduler::Mh,
        ] {
            let ring = build_ring(s, &b).unwrap();
            assert!(!ring.is_empty(), "{s:?}");
            assert_eq!(
                counts(&ring).keys().copied().collect::<Vec<_>>(),
                vec![NO_REAL],
                "{s:?}"
            );
        }
        for s in [Scheduler::Rr, Scheduler::Mh] {
            assert!(!build_ring(s, &[]).unwrap().is_empty(), "{s:?}");
        }
    }
}
