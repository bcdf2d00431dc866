//! Cache hints for the hot loops.

/// Ask the CPU to load the cache line holding `r`, for data read once and
/// passed by: the input, which a mapped reader never copies (so it is never in
/// the cache when its records are parsed). The non-temporal hint keeps the
/// stream of input from pushing the flows' state out of the shared cache.
#[inline(always)]
pub fn prefetch_once<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    hint::<{ std::arch::x86_64::_MM_HINT_NTA }, T>(r);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// Ask the CPU to load the cache line holding `r`, for data about to be
/// worked on (a flow a packet will update).
#[inline(always)]
pub fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    hint::<{ std::arch::x86_64::_MM_HINT_T0 }, T>(r);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// A prefetch never faults and never changes what the program computes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn hint<const STRATEGY: i32, T>(r: &T) {
    // SAFETY: a prefetch has no architectural effect besides the cache, and the
    // address is that of a live reference.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<STRATEGY>((r as *const T).cast::<i8>());
    }
}
