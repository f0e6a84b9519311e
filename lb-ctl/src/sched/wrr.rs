//! Round-robin rings: `rr` and IPVS' weighted round robin (`wrr`).
//!
//! The data plane walks the ring with a per-service cursor
//! (`ring[cursor++ % ring_len]`), so one period of the scheduler's choices,
//! written out once, reproduces the kernel's order forever.

use super::gcd;

/// `rr`: every server with a positive weight, once, in configuration order
/// (IPVS' `ip_vs_rr.c` skips weight-0 servers the same way). Empty when no
/// server can take traffic.
pub fn rr_sequence(backends: &[(u32, u32)]) -> Vec<u32> {
    backends
        .iter()
        .filter(|&&(_, weight)| weight > 0)
        .map(|&(id, _)| id)
        .collect()
}

/// `wrr`: one full period of the sequence `ip_vs_wrr.c` produces for these
/// `(id, weight)` servers, e.g. weights 4, 3, 2 give `A A B A B C A B C`.
///
/// The kernel keeps a current weight `cw` that starts at the largest weight
/// (less `gcd - 1`), walks the servers in order picking each one whose
/// weight is at least `cw`, and after each pass lowers `cw` by the gcd of
/// the weights, wrapping back to the top when it reaches 0. A period has
/// `sum(weight) / gcd` entries.
///
/// When a period would be longer than `max_len` (the ring capacity), the
/// weights are first scaled down proportionally (each positive weight stays
/// at least 1) so that the period fits; the order is then IPVS' order for
/// the scaled weights. Empty when no server has a positive weight.
pub fn wrr_sequence(backends: &[(u32, u32)], max_len: u32) -> Vec<u32> {
    let weights = fit_weights(backends, max_len as u64);
    let period: u64 = {
        let g = weights_gcd(&weights);
        weights.iter().map(|&(_, w)| w as u64 / g as u64).sum()
    };
    let mut ring: Vec<u32> = IpvsWrr::new(&weights).take(period as usize).collect();
    // Only reachable when there are more positive-weight servers than
    // `max_len`: even weight 1 each can't fit, so the ring keeps the first ones.
    ring.truncate(max_len as usize);
    ring
}

/// gcd of the positive weights, 1 when there are none (as the kernel's
/// `ip_vs_wrr_gcd_weight`).
fn weights_gcd(backends: &[(u32, u32)]) -> u32 {
    backends
        .iter()
        .map(|&(_, w)| w)
        .filter(|&w| w > 0)
        .reduce(gcd)
        .unwrap_or(1)
}

/// Scales the weights down so that one period has at most `max_len`
/// entries. Leaves them untouched when it already fits.
fn fit_weights(backends: &[(u32, u32)], max_len: u64) -> Vec<(u32, u32)> {
    let g = weights_gcd(backends) as u64;
    let total: u64 = backends.iter().map(|&(_, w)| w as u64).sum();
    if total / g <= max_len {
        return backends.to_vec();
    }
    // Rounding each weight down loses less than 1 per server and the
    // `max(1)` adds at most 1 per server, so aim below the limit by the
    // number of servers.
    let live = backends.iter().filter(|&&(_, w)| w > 0).count() as u64;
    let target = max_len.saturating_sub(live).max(1);
    backends
        .iter()
        .map(|&(id, w)| {
            let scaled = if w == 0 {
                0
            } else {
                (w as u64 * target / total).max(1) as u32
            };
            (id, scaled)
        })
        .collect()
}

/// The kernel's WRR state machine (`struct ip_vs_wrr_mark`), as an endless
/// iterator of chosen ids.
struct IpvsWrr<'a> {
    backends: &'a [(u32, u32)],
    /// Index of the last chosen server; `None` = the list head, before the
    /// first server.
    last: Option<usize>,
    /// Current weight.
    cw: i64,
    /// Maximum weight less (gcd - 1), as `mark->mw`.
    mw: i64,
    /// gcd of the weights, `mark->di`.
    di: i64,
}

impl<'a> IpvsWrr<'a> {
    fn new(backends: &'a [(u32, u32)]) -> Self {
        let di = weights_gcd(backends) as i64;
        let max = backends.iter().map(|&(_, w)| w).max().unwrap_or(0) as i64;
        let mw = (max - (di - 1)).max(0);
        IpvsWrr {
            backends,
            last: None,
            cw: mw,
            mw,
            di,
        }
    }
}

impl Iterator for IpvsWrr<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.mw == 0 {
            return None; // no server with a positive weight
        }
        let mut start = self.last.map_or(0, |i| i + 1);
        // cw only goes down to 1 before wrapping to mw, and some server has
        // weight >= mw, so at most mw/di + 1 passes find one.
        loop {
            for i in start..self.backends.len() {
                if self.backends[i].1 as i64 >= self.cw {
                    self.last = Some(i);
                    return Some(self.backends[i].0);
                }
            }
            start = 0;
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::counts;
    use super::*;

    const A: u32 = 10;
    const B: u32 = 11;
    const C: u32 = 12;

    #[test]
    fn rr_skips_drained_servers_and_keeps_order() {
        assert_eq!(rr_sequence(&[(A, 1), (B, 0), (C, 5)]), vec![A, C]);
        assert!(rr_sequence(&[(A, 0)]).is_empty());
        assert!(rr_sequence(&[]).is_empty());
    }

    #[test]
    fn wrr_matches_the_kernel_sequence_for_4_3_2() {
        assert_eq!(
            wrr_sequence(&[(A, 4), (B, 3), (C, 2)], 1000),
            vec![A, A, B, A, B, C, A, B, C]
        );
    }

    #[test]
    fn wrr_known_kernel_sequences() {
        // Worked by hand through ip_vs_wrr_schedule().
        assert_eq!(wrr_sequence(&[(A, 1), (B, 1), (C, 1)], 100), vec![A, B, C]);
        assert_eq!(wrr_sequence(&[(A, 3), (B, 1)], 100), vec![A, A, A, B]);
        assert_eq!(wrr_sequence(&[(A, 1), (B, 3)], 100), vec![B, B, A, B]);
        assert_eq!(
            wrr_sequence(&[(A, 5), (B, 1), (C, 1)], 100),
            vec![A, A, A, A, A, B, C]
        );
        // gcd 2: the same order as weights 2, 1, period 3.
        assert_eq!(wrr_sequence(&[(A, 4), (B, 2)], 100), vec![A, A, B]);
        // gcd 3 with 6, 9, 3 behaves as 2, 3, 1.
        assert_eq!(
            wrr_sequence(&[(A, 6), (B, 9), (C, 3)], 100),
            wrr_sequence(&[(A, 2), (B, 3), (C, 1)], 100)
        );
        assert_eq!(
            wrr_sequence(&[(A, 2), (B, 3), (C, 1)], 100),
            vec![B, A, B, A, B, C]
        );
    }

    #[test]
    fn wrr_skips_weight_zero() {
        assert_eq!(
            wrr_sequence(&[(A, 4), (B, 0), (C, 2)], 100),
            wrr_sequence(&[(A, 4), (C, 2)], 100)
        );
        assert!(wrr_sequence(&[(A, 0), (B, 0)], 100).is_empty());
        assert!(wrr_sequence(&[], 100).is_empty());
    }

    #[test]
    fn wrr_period_repeats_as_the_kernel_would_continue() {
        let servers = [(A, 7), (B, 3), (C, 5), (13, 2)];
        let period = wrr_sequence(&servers, 1000);
        assert_eq!(period.len(), 17);
        let kernel: Vec<u32> = IpvsWrr::new(&servers).take(3 * 17).collect();
        for (i, &id) in kernel.iter().enumerate() {
            assert_eq!(id, period[i % 17], "pick {i}");
        }
    }

    #[test]
    fn wrr_counts_are_the_weights() {
        let servers = [(A, 7), (B, 3), (C, 5)];
        let c = counts(&wrr_sequence(&servers, 1000));
        assert_eq!((c[&A], c[&B], c[&C]), (7, 3, 5));
    }

    #[test]
    fn wrr_scales_weights_that_do_not_fit_the_ring() {
        let servers = [(A, 60000), (B, 30000), (C, 1)];
        let ring = wrr_sequence(&servers, 65537);
        assert!(ring.len() <= 65537);
        let c = counts(&ring);
        assert!(c[&C] >= 1, "a live server keeps at least one slot");
        let ratio = c[&A] as f64 / c[&B] as f64;
        assert!((ratio - 2.0).abs() < 0.01, "A:B = {ratio}");
        assert!(
            ring.len() > 60000,
            "the scaled ring still uses most of the space"
        );
    }

    #[test]
    fn wrr_with_more_servers_than_slots_is_truncated() {
        let servers: Vec<(u32, u32)> = (0..10).map(|i| (i, 1)).collect();
        assert_eq!(wrr_sequence(&servers, 4), vec![0, 1, 2, 3]);
        assert!(wrr_sequence(&servers, 0).is_empty());
    }
}
