//! The 256-bucket tables of IPVS' source hashing (`sh`) and destination
//! hashing (`dh`) schedulers.
//!
//! The data plane indexes them with `flow_hash::hash_u32(addr) % 256`.
//!
//! One deliberate difference from the kernel: IPVS gives weight-0 servers
//! buckets too and then fails (or, with `sh-fallback`, re-picks) lookups
//! that land on them. Here a weight of 0 means "drain", so those servers are
//! left out and their buckets go to the live ones; existing connections keep
//! their server through the connection table.

use super::NO_REAL;
use lb_common::HASH_TABLE_SIZE;

/// `sh`: as `ip_vs_sh_reassign()` fills its table. Walk the live servers in
/// order, round robin; each takes `weight` consecutive buckets before the
/// next one's turn. With weights 2 and 1: `A A B A A B ...`.
///
/// Always [`HASH_TABLE_SIZE`] entries; all [`NO_REAL`] when no server has a
/// positive weight.
pub fn hash_buckets(backends: &[(u32, u32)]) -> Vec<u32> {
    fill_round_robin(backends, |weight| weight)
}

/// `dh`: as `ip_vs_dh_reassign()` fills its table, which ignores weights:
/// each live server takes one bucket in turn (`A B C A B C ...`).
///
/// Always [`HASH_TABLE_SIZE`] entries; all [`NO_REAL`] when no server has a
/// positive weight.
pub fn dh_buckets(backends: &[(u32, u32)]) -> Vec<u32> {
    fill_round_robin(backends, |_| 1)
}

/// Fills the table walking the live servers round robin; each takes
/// `run_length(weight)` consecutive buckets per turn.
fn fill_round_robin(backends: &[(u32, u32)], run_length: impl Fn(u32) -> u32) -> Vec<u32> {
    let live: Vec<(u32, u32)> = backends
        .iter()
        .filter(|&&(_, weight)| weight > 0)
        .map(|&(id, weight)| (id, run_length(weight)))
        .collect();
    if live.is_empty() {
        return vec![NO_REAL; HASH_TABLE_SIZE as usize];
    }
    let mut table = Vec::with_capacity(HASH_TABLE_SIZE as usize);
    let mut turns = live.iter().cycle();
    while table.len() < HASH_TABLE_SIZE as usize {
        let &(id, run) = turns.next().expect("cycle over a non-empty list");
        let room = HASH_TABLE_SIZE as usize - table.len();
        table.extend(std::iter::repeat_n(id, (run as usize).min(room)));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::super::test_util::counts;
    use super::*;

    const A: u32 = 1;
    const B: u32 = 2;
    const C: u32 = 3;

    #[test]
    fn sh_gives_each_server_weight_consecutive_buckets() {
        let t = hash_buckets(&[(A, 2), (B, 1)]);
        assert_eq!(t.len(), 256);
        assert_eq!(&t[..7], &[A, A, B, A, A, B, A]);
        // 256 = 85 turns of 3 + one more bucket for A.
        let c = counts(&t);
        assert_eq!((c[&A], c[&B]), (171, 85));
    }

    /// The table is `cycle` repeated (and cut at the end).
    fn assert_cycles(table: &[u32], cycle: &[u32]) {
        assert_eq!(table.len(), 256);
        for (i, &id) in table.iter().enumerate() {
            assert_eq!(id, cycle[i % cycle.len()], "bucket {i}");
        }
    }

    #[test]
    fn sh_equal_weights_alternate() {
        assert_cycles(&hash_buckets(&[(A, 1), (B, 1), (C, 1)]), &[A, B, C]);
    }

    #[test]
    fn sh_large_weights_are_cut_at_the_table_end() {
        let t = hash_buckets(&[(A, 200), (B, 100)]);
        assert!(t[..200].iter().all(|&id| id == A));
        assert!(t[200..].iter().all(|&id| id == B));
        assert_eq!(hash_buckets(&[(A, 1000), (B, 1)]), vec![A; 256]);
    }

    #[test]
    fn weight_zero_servers_get_no_bucket() {
        let t = hash_buckets(&[(A, 1), (B, 0), (C, 1)]);
        assert!(!t.contains(&B));
        assert_eq!(t, hash_buckets(&[(A, 1), (C, 1)]));
        let d = dh_buckets(&[(A, 3), (B, 0), (C, 1)]);
        assert!(!d.contains(&B));
    }

    #[test]
    fn dh_ignores_weights_like_the_kernel() {
        assert_cycles(&dh_buckets(&[(A, 5), (B, 1), (C, 2)]), &[A, B, C]);
    }

    #[test]
    fn no_live_server_means_no_real_everywhere() {
        assert_eq!(hash_buckets(&[]), vec![NO_REAL; 256]);
        assert_eq!(hash_buckets(&[(A, 0)]), vec![NO_REAL; 256]);
        assert_eq!(dh_buckets(&[(A, 0)]), vec![NO_REAL; 256]);
    }
}
