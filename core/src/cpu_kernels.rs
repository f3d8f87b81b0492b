//! Matrix-multiply kernel choice for the CPU we run on.
//!
//! AMD Zen 4 (family 19h) executes each 512-bit FMA as two 256-bit halves. On it, tract's
//! AVX-512 f32 kernels measured 14% slower on this model than its AVX2+FMA kernels (39.6 ms
//! against 34.2 ms per inference, one thread, `veil bench`), so there the AVX-512 kernels are
//! taken out of tract's pool. Intel CPUs, Zen 5 (full 512-bit datapaths) and ARM phones are left
//! as tract detects them. Setting `TRACT_CPU_ISA` in the environment overrides this choice.

use std::sync::Once;

static TUNED: Once = Once::new();

/// Applies the kernel choice once per process, before tract first probes the CPU.
pub(crate) fn tune_once() {
    TUNED.call_once(|| {
        if std::env::var_os("TRACT_CPU_ISA").is_some() || !is_zen4() {
            return;
        }
        match tract_onnx::tract_core::knobs::set_config_global("TRACT_CPU_ISA", "-avx512f") {
            Ok(()) => log::debug!("Zen 4: using AVX2+FMA matmul kernels"),
            Err(e) => log::debug!("cannot adjust tract's kernel choice: {e}"),
        }
    });
}

#[cfg(target_arch = "x86_64")]
fn is_zen4() -> bool {
    use std::arch::x86_64::__cpuid;
    // `cpuid` exists on every x86_64 CPU.
    let vendor = __cpuid(0);
    let amd = vendor.ebx == u32::from_le_bytes(*b"Auth")
        && vendor.edx == u32::from_le_bytes(*b"enti")
        && vendor.ecx == u32::from_le_bytes(*b"cAMD");
    let eax = __cpuid(1).eax;
    let family = ((eax >> 8) & 0xF) + ((eax >> 20) & 0xFF);
    amd && family == 0x19
}

#[cfg(not(target_arch = "x86_64"))]
fn is_zen4() -> bool {
    false
}
