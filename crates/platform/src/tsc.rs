//! The CPU's time-stamp counter, as application code sees it: the vDSO
//! reads it directly, and the sentry calibrates it against the host's
//! clocks (see `sentry::kernel::timekeeper`).

/// The current TSC value.
pub fn read() -> u64 {
    // SAFETY: RDTSC reads a counter; it touches no memory. Every x86-64 CPU
    // has it, and the host kernel lets user code run it (CR4.TSD clear), as
    // the application itself does in the vDSO.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Whether the TSC ticks at a constant rate in every power state (CPUID
/// 0x8000_0007 EDX bit 8, "invariant TSC"): only then can a clock be
/// extrapolated from it.
pub fn invariant() -> bool {
    use core::arch::x86_64::__cpuid;
    __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
}

/// The CPU and NUMA node the calling thread runs on, from the TSC_AUX
/// register Linux sets to `cpu | node << 12` (what the vDSO's `getcpu`
/// reads in the application).
pub fn cpu_and_node() -> (u32, u32) {
    let mut aux = 0u32;
    // SAFETY: RDTSCP writes the counter (returned, ignored) and TSC_AUX into
    // `aux`, a local we own; the CPU has it (`rdtscp` in /proc/cpuinfo on
    // every machine moat supports; the vDSO relies on it the same way).
    unsafe { core::arch::x86_64::__rdtscp(&mut aux) };
    (aux & 0xfff, aux >> 12)
}
