/* The parameter page ("vvar") the sentry keeps up to date and the vDSO
 * reads. Its layout is also written down in src/lib.rs (`Params`); the
 * static assertions below and the crate's unit test hold the two together. */
#ifndef MOAT_VDSO_PARAMS_H
#define MOAT_VDSO_PARAMS_H

typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;

struct moat_params {
	/* Odd while the sentry is writing; readers retry until they see the
	 * same even value before and after reading. */
	u32 seq;
	/* Zero until the sentry has calibrated the TSC (or when the host's
	 * TSC cannot be trusted): every call then makes the system call. */
	u32 enabled;
	/* CLOCK_MONOTONIC = mono_base + ((tsc - tsc_base) * mult >> 32). */
	u64 tsc_base;
	u64 mult;
	s64 mono_base;
	/* CLOCK_REALTIME and CLOCK_BOOTTIME as offsets from CLOCK_MONOTONIC. */
	s64 real_offset;
	s64 boot_offset;
};

_Static_assert(__builtin_offsetof(struct moat_params, seq) == 0, "seq");
_Static_assert(__builtin_offsetof(struct moat_params, enabled) == 4, "enabled");
_Static_assert(__builtin_offsetof(struct moat_params, tsc_base) == 8, "tsc_base");
_Static_assert(__builtin_offsetof(struct moat_params, mult) == 16, "mult");
_Static_assert(__builtin_offsetof(struct moat_params, mono_base) == 24, "mono_base");
_Static_assert(__builtin_offsetof(struct moat_params, real_offset) == 32, "real_offset");
_Static_assert(__builtin_offsetof(struct moat_params, boot_offset) == 40, "boot_offset");
_Static_assert(sizeof(struct moat_params) == 48, "size");

#endif
