//! Atomic adds on map values. core's atomic types have no read-modify-write
//! operations on the BPF target, so this goes through the intrinsics, which
//! LLVM lowers to BPF_ATOMIC instructions (cpu v3).

use core::intrinsics::{atomic_xadd, atomic_xsub, AtomicOrdering};

/// Adds `v` to `*ptr` and returns the previous value.
///
/// # Safety
/// `ptr` must point to a live, aligned map value.
#[inline(always)]
pub unsafe fn fetch_add_u64(ptr: *mut u64, v: u64) -> u64 {
    // SeqCst: LLVM's BPF backend lowers a relaxed add to the non-fetching
    // `lock add` even when the old value is used.
    unsafe { atomic_xadd::<u64, u64, { AtomicOrdering::SeqCst }>(ptr, v) }
}

/// # Safety
/// `ptr` must point to a live, aligned map value.
#[inline(always)]
pub unsafe fn add_u32(ptr: *mut u32, v: u32) {
    unsafe { atomic_xadd::<u32, u32, { AtomicOrdering::Relaxed }>(ptr, v) };
}

/// Subtracts one unless the value is already 0 (user space may have reset
/// it since it was incremented).
///
/// # Safety
/// `ptr` must point to a live, aligned map value.
#[inline(always)]
pub unsafe fn dec_u32_saturating(ptr: *mut u32) {
    unsafe {
        if core::ptr::read_volatile(ptr) > 0 {
            atomic_xsub::<u32, u32, { AtomicOrdering::Relaxed }>(ptr, 1);
        }
    }
}
