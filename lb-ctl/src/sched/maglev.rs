//! Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
//! Software Network Load Balancer", NSDI 2016, §3.4), with weights the way
//! Katran's second Maglev version does them.
//!
//! Each backend gets a permutation of the table slots from two hashes of its
//! identity: `offset = h1(key) % M`, `skip = h2(key) % (M - 1) + 1`, and its
//! j-th preference is `(offset + j * skip) % M`. M is prime, so every skip is
//! coprime with it and each permutation visits every slot. Backends then
//! take turns claiming their next preferred free slot until the table is
//! full.
//!
//! Weights: every round each live backend adds its weight to a running
//! credit and claims a slot only when the credit reaches the largest weight
//! (then pays that much back). A backend of weight w thus claims w/max
//! slots per round, so its share of the table is proportional to its weight.
//!
//! The table depends only on the backends' keys, weights and order, never
//! on the machine or process: two directors build identical tables.

use super::{Backend, SchedError, NO_REAL};
use lb_common::RING_SIZE;

/// Seeds of the two key hashes (arbitrary, fixed forever: changing them
/// reshuffles every Maglev table).
const OFFSET_SEED: u64 = 0x6d61_676c_6576_3031; // "maglev01"
const SKIP_SEED: u64 = 0x6d61_676c_6576_3032; // "maglev02"

/// Builds the Maglev lookup table of `size` entries; each entry is the id of
/// a backend with a positive weight, or [`NO_REAL`] everywhere when there is
/// none.
///
/// `size` must be a prime no larger than the data plane's ring
/// ([`RING_SIZE`] = 65537, the size IPVS' `mh` and Katran use). It should
/// be much larger than the number of backends (the paper uses M > 100·N) for
/// an even spread and small disruption.
pub fn maglev_table(backends: &[Backend], size: u32) -> Result<Vec<u32>, SchedError> {
    if size > RING_SIZE {
        return Err(SchedError::TooLarge {
            size,
            max: RING_SIZE,
        });
    }
    if !is_prime(size) {
        return Err(SchedError::SizeNotPrime(size));
    }
    let mut table = vec![NO_REAL; size as usize];
    let mut live: Vec<Claimant> = backends
        .iter()
        .filter(|b| b.weight > 0)
        .map(|b| Claimant::new(b, size))
        .collect();
    let Some(max_weight) = live.iter().map(|c| c.weight).max() else {
        return Ok(table);
    };

    let mut filled = 0usize;
    loop {
        for claimant in &mut live {
            claimant.credit += claimant.weight;
            if claimant.credit < max_weight {
                continue;
            }
            claimant.credit -= max_weight;
            let slot = claimant.next_free_slot(&table);
            table[slot] = claimant.id;
            filled += 1;
            if filled == table.len() {
                return Ok(table);
            }
        }
    }
}

/// A backend's progress through its permutation while the table fills.
struct Claimant {
    id: u32,
    weight: u64,
    credit: u64,
    offset: u64,
    skip: u64,
    /// How far along its permutation the backend has looked.
    next: u64,
    size: u64,
}

impl Claimant {
    fn new(backend: &Backend, size: u32) -> Claimant {
        let size = size as u64;
        Claimant {
            id: backend.id,
            weight: backend.weight as u64,
            credit: 0,
            offset: key_hash(&backend.key, OFFSET_SEED) % size,
            // size 2 is prime but has skip range [1, 1]; `% (size - 1)` is
            // well defined for every prime.
            skip: key_hash(&backend.key, SKIP_SEED) % (size - 1) + 1,
            next: 0,
            size,
        }
    }

    /// The backend's most preferred slot that is still free. The caller
    /// only asks while the table has a free slot, and a permutation
    /// reaches every slot, so this ends within `size` steps.
    fn next_free_slot(&mut self, table: &[u32]) -> usize {
        loop {
            let slot = ((self.offset + self.next * self.skip) % self.size) as usize;
            self.next += 1;
            if table[slot] == NO_REAL {
                return slot;
            }
        }
    }
}

/// The key hash: 64-bit FNV-1a over the key bytes, starting from the FNV
/// offset basis xor `seed`, followed by MurmurHash3's 64-bit finalizer
/// (fmix64) so that the low bits, which `% M` keeps, depend on every byte.
pub fn key_hash(key: &[u8], seed: u64) -> u64 {
    fmix64(fnv1a64(key, seed))
}

fn fnv1a64(key: &[u8], seed: u64) -> u64 {
    const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    key.iter().fold(FNV_OFFSET_BASIS ^ seed, |h, &byte| {
        (h ^ byte as u64).wrapping_mul(FNV_PRIME)
    })
}

fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Trial division; sizes are at most [`RING_SIZE`], so this is instant.
pub fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let n = n as u64;
    (3..)
        .step_by(2)
        .take_while(|d| d * d <= n)
        .all(|d| !n.is_multiple_of(d))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::counts;
    use super::*;

    const M: u32 = RING_SIZE;

    fn equal_backends(n: u32) -> Vec<Backend> {
        (0..n).map(|i| backend(i, 1)).collect()
    }

    fn backend(id: u32, weight: u32) -> Backend {
        Backend::new(
            id,
            weight,
            format!("198.18.{}.{}:6379", id / 200, id % 200 + 20),
        )
    }

    #[test]
    fn prime_check() {
        let primes: Vec<u32> = (0..30).filter(|&n| is_prime(n)).collect();
        assert_eq!(primes, vec![2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        assert!(is_prime(65537));
        assert!(is_prime(65521));
        assert!(!is_prime(65536));
        assert!(!is_prime(65535));
        assert!(!is_prime(251 * 257));
    }

    #[test]
    fn non_prime_or_oversized_sizes_are_rejected() {
        let b = equal_backends(3);
        for bad in [0, 1, 4, 100, 65535] {
            assert_eq!(maglev_table(&b, bad), Err(SchedError::SizeNotPrime(bad)));
        }
        assert_eq!(
            maglev_table(&b, 131071),
            Err(SchedError::TooLarge {
                size: 131071,
                max: RING_SIZE
            })
        );
        assert!(maglev_table(&b, 2).is_ok());
        assert!(maglev_table(&b, 13).is_ok());
    }

    #[test]
    fn equal_backends_spread_evenly() {
        for n in [3u32, 7, 10, 100] {
            let table = maglev_table(&equal_backends(n), M).unwrap();
            assert_eq!(table.len(), M as usize);
            let c = counts(&table);
            assert_eq!(c.len(), n as usize, "every backend has entries");
            let ideal = M as f64 / n as f64;
            for (id, &count) in &c {
                let deviation = (count as f64 - ideal).abs() / ideal;
                assert!(deviation < 0.01, "n={n} id={id}: {count} vs {ideal:.1}");
            }
        }
    }

    #[test]
    fn weights_give_proportional_shares() {
        let b = vec![backend(0, 1), backend(1, 2), backend(2, 3), backend(3, 10)];
        let c = counts(&maglev_table(&b, M).unwrap());
        let total_weight = 16.0;
        for backend in &b {
            let ideal = M as f64 * backend.weight as f64 / total_weight;
            let got = c[&backend.id] as f64;
            assert!(
                (got - ideal).abs() / ideal < 0.01,
                "id {} weight {}: {got} vs {ideal:.1}",
                backend.id,
                backend.weight
            );
        }
    }

    #[test]
    fn zero_weight_backends_get_no_entries() {
        let b = vec![backend(0, 1), backend(1, 0), backend(2, 1)];
        let c = counts(&maglev_table(&b, M).unwrap());
        assert!(!c.contains_key(&1));
        assert_eq!(c[&0] + c[&2], M as usize);
    }

    #[test]
    fn no_live_backend_fills_with_no_real() {
        assert_eq!(maglev_table(&[], 13).unwrap(), vec![NO_REAL; 13]);
        assert_eq!(
            maglev_table(&[backend(0, 0)], 13).unwrap(),
            vec![NO_REAL; 13]
        );
    }

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv1a64(b"", 0), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a", 0), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fmix64(0), 0);
    }

    #[test]
    fn tables_are_deterministic_and_pinned() {
        let b = equal_backends(7);
        assert_eq!(maglev_table(&b, M).unwrap(), maglev_table(&b, M).unwrap());
        // Two directors (and releases) must agree on the table, so the key
        // hash is frozen. Values computed independently with a Python
        // transcription of the definition above.
        let key = b"198.18.0.21:6379";
        assert_eq!(key_hash(key, OFFSET_SEED), 0x5554_b4b7_ac16_d330);
        assert_eq!(key_hash(key, SKIP_SEED), 0x5fa1_a76d_6a3c_6db7);
        // Hence that backend's first claim (it goes first in round one) is
        // slot 0x5554b4b7ac16d330 % 65537 = 34429.
        let table = maglev_table(&[Backend::new(9, 1, key), backend(1, 1)], M).unwrap();
        assert_eq!(table[34429], 9);
    }

    #[test]
    fn ids_do_not_change_the_shape_only_keys_do() {
        // Same keys under different ids: the same slots go to the same keys.
        let b1 = equal_backends(5);
        let b2: Vec<Backend> = b1
            .iter()
            .map(|b| Backend::new(b.id + 100, b.weight, &b.key))
            .collect();
        let t1 = maglev_table(&b1, M).unwrap();
        let t2 = maglev_table(&b2, M).unwrap();
        assert!(t1.iter().zip(&t2).all(|(a, b)| a + 100 == *b));
    }

    /// Fraction of the table's slots that moved between two live backends
    /// (slots that belonged to `removed` must move and are not counted).
    fn disruption(before: &[u32], after: &[u32], removed: u32) -> f64 {
        let moved = before
            .iter()
            .zip(after)
            .filter(|(&old, &new)| old != removed && old != new)
            .count();
        moved as f64 / before.len() as f64
    }

    #[test]
    fn removing_a_backend_moves_few_other_entries() {
        // Maglev trades perfect stability for balance, so a few slots of
        // the surviving backends do move when one goes (the paper's Fig. 12
        // shows this with M = 65537). Measured here: 0.22% of the table for
        // n = 10, 0.54% for n = 100; a modulo hash would move ~(n-1)/n.
        for n in [10u32, 100] {
            let all = equal_backends(n);
            let before = maglev_table(&all, M).unwrap();
            let removed = n / 2;
            let fewer: Vec<Backend> = all.iter().filter(|b| b.id != removed).cloned().collect();
            let after = maglev_table(&fewer, M).unwrap();
            let moved = disruption(&before, &after, removed);
            assert!(
                moved < 0.02,
                "n={n}: {:.2}% of the slots moved",
                moved * 100.0
            );
            assert!(!after.contains(&removed));
        }
    }

    #[test]
    fn draining_a_backend_is_like_removing_it() {
        let mut all = equal_backends(10);
        let removed: Vec<Backend> = all.iter().filter(|b| b.id != 3).cloned().collect();
        all[3].weight = 0;
        assert_eq!(
            maglev_table(&all, M).unwrap(),
            maglev_table(&removed, M).unwrap()
        );
    }
}
