//! moat's vDSO: a small shared object the sentry maps into every address
//! space (`AT_SYSINFO_EHDR`) so that `clock_gettime`, `gettimeofday`,
//! `time` and `getcpu` run without trapping into the sentry (gVisor:
//! `vdso/`). It is C, built by build.rs; this crate embeds the image and
//! describes the parameter page the sentry writes and the vDSO reads.
//!
//! Layout in the application's address space: the parameter page, then the
//! image at the next page (the image's `moat_params` symbol is defined one
//! page below its own start).

#![forbid(unsafe_code)]

use zerocopy::{Immutable, IntoBytes};

/// The shared object, as built from c/vdso.c.
pub static IMAGE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/vdso.so"));

/// The parameter page's contents (c/params.h, whose static assertions pin
/// the same offsets). `seq` is written on its own, as the seqlock's
/// counter; the rest is written while `seq` is odd.
#[derive(Clone, Copy, Debug, Default, IntoBytes, Immutable)]
#[repr(C)]
pub struct Params {
    pub seq: u32,
    /// Zero: the vDSO makes the system calls instead.
    pub enabled: u32,
    pub tsc_base: u64,
    /// Nanoseconds per TSC tick, times 2^32.
    pub mult: u64,
    /// CLOCK_MONOTONIC at `tsc_base`, in nanoseconds.
    pub mono_base: i64,
    /// CLOCK_REALTIME − CLOCK_MONOTONIC.
    pub real_offset: i64,
    /// CLOCK_BOOTTIME − CLOCK_MONOTONIC.
    pub boot_offset: i64,
}

/// Offset of `Params::seq` in the page.
pub const SEQ_OFFSET: u64 = 0;
/// Offset of the fields after `seq` (`Params::enabled` onwards).
pub const BODY_OFFSET: u64 = 4;

#[cfg(test)]
mod tests {
    use super::*;
    use object::{Object, ObjectSegment, ObjectSymbol};

    #[test]
    fn params_match_the_c_layout() {
        assert_eq!(std::mem::size_of::<Params>(), 48);
        assert_eq!(std::mem::offset_of!(Params, enabled), BODY_OFFSET as usize);
        assert_eq!(std::mem::offset_of!(Params, tsc_base), 8);
        assert_eq!(std::mem::offset_of!(Params, mult), 16);
        assert_eq!(std::mem::offset_of!(Params, mono_base), 24);
        assert_eq!(std::mem::offset_of!(Params, real_offset), 32);
        assert_eq!(std::mem::offset_of!(Params, boot_offset), 40);
    }

    #[test]
    fn image_is_one_page_loaded_at_zero_without_relocations() {
        let elf = object::File::parse(IMAGE).expect("the vDSO parses as ELF");
        let loads: Vec<_> = elf.segments().collect();
        assert_eq!(loads.len(), 1, "one PT_LOAD");
        assert_eq!(loads[0].address(), 0);
        assert!(IMAGE.len() <= 4096, "the image fits the one page the sentry maps ({} bytes)", IMAGE.len());
        assert!(elf.dynamic_relocations().is_none_or(|mut r| r.next().is_none()), "no dynamic relocations");
        let names: Vec<String> = elf.dynamic_symbols().filter_map(|s| s.name().ok().map(str::to_string)).collect();
        for want in ["__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu"] {
            assert!(names.iter().any(|n| n == want), "{want} exported; have {names:?}");
        }
    }
}
