//! Runs a kernel compiled for the best vector instructions the CPU has.
//!
//! Kernels are plain Rust over fixed-size arrays, which LLVM turns into vector code for the
//! instruction set it compiles for. x86_64 builds target a baseline without AVX2 or FMA, so
//! [`dispatch`] compiles a second copy of the kernel with them enabled and picks it at run
//! time; aarch64 always has NEON and fused multiply-add.

/// A kernel that [`dispatch`] can compile for several instruction sets.
pub(super) trait Kernel {
    /// What the kernel returns.
    type Output;
    /// Runs the kernel. With `FUSED`, `a.mul_add(b, c)` is one instruction; without it, a
    /// library call, so the kernel must multiply and add separately (see [`madd`]).
    fn run<const FUSED: bool>(self) -> Self::Output;
}

/// `a * b + c`, as one fused instruction when `FUSED`.
#[inline(always)]
pub(super) fn madd<const FUSED: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FUSED {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Runs `kernel` with AVX2 and FMA when the CPU has them (x86_64), with NEON's fused
/// multiply-add on aarch64, else with the baseline instruction set.
pub(super) fn dispatch<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        #[allow(unsafe_code)]
        return unsafe { run_avx2(kernel) };
    }
    kernel.run::<{ cfg!(target_arch = "aarch64") }>()
}

/// `kernel`, compiled with AVX2 and FMA (its `run` is inlined here).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn run_avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.run::<true>()
}
