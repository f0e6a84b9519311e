//! The clock that times commands (INFO commandstats, latencystats, the slow
//! log, the latency monitor): cheap enough to read twice per command.

use std::sync::OnceLock;

/// Nanoseconds per time-stamp-counter tick, when the TSC can time commands
/// (x86_64 with an invariant TSC); None = use the OS clock.
fn tsc_nanos_per_tick() -> Option<f64> {
    static CALIBRATION: OnceLock<Option<f64>> = OnceLock::new();
    *CALIBRATION.get_or_init(calibrate_tsc)
}

#[cfg(target_arch = "x86_64")]
fn read_tsc() -> u64 {
    // SAFETY: RDTSC has no preconditions on x86_64; it only reads a counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
fn read_tsc() -> u64 {
    0
}

/// Like Redis' MONOTONIC_CLOCK_HW: the TSC is used only where the kernel
/// reports it constant-rate and non-stop; its rate is measured once over
/// 20 ms against the OS clock.
fn calibrate_tsc() -> Option<f64> {
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let flags = cpuinfo.lines().find(|l| l.starts_with("flags"))?;
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    if !has("constant_tsc") || !has("nonstop_tsc") {
        return None;
    }
    let (t0, c0) = (std::time::Instant::now(), read_tsc());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (nanos, ticks) = (t0.elapsed().as_nanos() as f64, read_tsc().wrapping_sub(c0));
    (ticks > 0).then(|| nanos / ticks as f64)
}

fn process_clock_base() -> std::time::Instant {
    static BASE: OnceLock<std::time::Instant> = OnceLock::new();
    *BASE.get_or_init(std::time::Instant::now)
}

/// Calibrates the command clock now rather than on the first command.
pub fn init_clock() {
    let _ = tsc_nanos_per_tick();
    let _ = process_clock_base();
}

/// A reading of the command clock: one cheap counter read where possible
/// (two clock_gettime calls per command cost ~5% of a pipelined GET).
pub fn clock_ticks() -> u64 {
    match tsc_nanos_per_tick() {
        Some(_) => read_tsc(),
        None => process_clock_base().elapsed().as_nanos() as u64,
    }
}

/// Nanoseconds since `start`, a [`clock_ticks`] reading.
pub fn nanos_since(start: u64) -> u64 {
    let now = clock_ticks();
    let ticks = now.saturating_sub(start);
    match tsc_nanos_per_tick() {
        Some(ns_per_tick) => (ticks as f64 * ns_per_tick) as u64,
        None => ticks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_clock_measures_sleeps() {
        let start = clock_ticks();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let nanos = nanos_since(start);
        assert!((25_000_000..200_000_000).contains(&nanos), "{nanos} ns");
    }
}
