//! The audio path's loops in the widest vector instructions the processor has, chosen at run time.
//!
//! The default build targets baseline x86-64 (SSE2: two f64 or four f32 per register). Where the
//! processor has AVX2 and FMA, [`wide`] runs the same code compiled for them (four f64 or eight f32 per
//! register: the pipelined front's four lanes in one register). The arithmetic is the same IEEE
//! operation for operation, so the outputs are the same bits either way: Rust never fuses a multiply and
//! an add into an FMA on its own (only `mul_add` does, which the audio path does not call), and the
//! library calls (`exp`, `ln`, `sin_cos`) are the same functions. A test runs the audio path both ways
//! and compares the bits.

#![allow(unsafe_code)]

/// Runs `f`, compiled for AVX2 and FMA where the processor has them and for the baseline otherwise (the
/// same bits). `f` should be `#[inline(always)]` code (a closure calling inlined functions): what it calls
/// without being inlined runs the baseline build.
#[inline(always)]
pub(crate) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if !baseline_forced() && processor_has_them() {
            #[target_feature(enable = "avx2,fma")]
            fn run<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            // SAFETY: the processor has AVX2 and FMA, the features `run` is compiled for (checked at run
            // time just above).
            return unsafe { run(f) };
        }
    }
    f()
}

/// Whether the processor has the features [`wide`]'s wide build is compiled for.
#[inline(always)]
pub(crate) fn processor_has_them() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(test)]
thread_local! {
    static BASELINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn baseline_forced() -> bool {
    BASELINE.with(|b| b.get())
}

#[cfg(not(test))]
#[inline(always)]
fn baseline_forced() -> bool {
    false
}

/// Runs `f` with [`wide`] on the baseline build on this thread (to compare the two builds' bits).
#[cfg(test)]
pub(crate) fn baseline<R>(f: impl FnOnce() -> R) -> R {
    BASELINE.with(|b| b.set(true));
    let r = f();
    BASELINE.with(|b| b.set(false));
    r
}

/// Asks the processor to bring `data` into its caches ahead of use, for writing if `write`: a hint that
/// changes nothing the program can see. For a block another thread wrote (or read), whose cache lines
/// would otherwise come over one at a time as a loop reaches them, while the current block is worked on.
#[inline(always)]
pub(crate) fn prefetch<T>(data: &[T], write: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_ET0, _MM_HINT_T0, _mm_prefetch};
        let p = data.as_ptr().cast::<i8>();
        for offset in (0..std::mem::size_of_val(data)).step_by(64) {
            // SAFETY: a prefetch never faults and has no effect the program can observe; the address is
            // within `data`.
            unsafe {
                if write {
                    _mm_prefetch::<_MM_HINT_ET0>(p.add(offset));
                } else {
                    _mm_prefetch::<_MM_HINT_T0>(p.add(offset));
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, write);
}
