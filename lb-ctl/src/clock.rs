//! The data plane stamps entries with bpf_ktime_get_coarse_ns(), which is
//! CLOCK_MONOTONIC_COARSE; user space compares against the same clock.

/// CLOCK_MONOTONIC_COARSE in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec and the clock always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}
