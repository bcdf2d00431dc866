//! Cache hints for the hot loops. A prefetch never faults and never changes
//! what the program computes, whatever the address.

/// Ask the CPU to load the cache line at `r`: input about to be parsed, and
/// read again by a flow worker on another core.
#[inline(always)]
pub fn prefetch_line<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    hint_at::<{ std::arch::x86_64::_MM_HINT_T0 }>((r as *const T).cast::<u8>());
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// Ask the CPU to load every cache line of `*r`, for data about to be worked
/// on (a flow a packet will update).
#[inline(always)]
pub fn prefetch_all<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        let base = (r as *const T).cast::<u8>();
        for off in (0..std::mem::size_of::<T>()).step_by(64) {
            hint_at::<{ std::arch::x86_64::_MM_HINT_T0 }>(base.wrapping_add(off));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn hint_at<const STRATEGY: i32>(p: *const u8) {
    // SAFETY: a prefetch has no architectural effect besides the cache; it
    // does not dereference the address.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<STRATEGY>(p.cast::<i8>());
    }
}
