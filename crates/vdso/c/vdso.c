/* moat's vDSO: clock_gettime, gettimeofday, time and getcpu answered in
 * the application's own address space, without a trap into the sentry.
 *
 * The clocks are the TSC scaled by parameters the sentry writes into the
 * page mapped just below this image (see params.h). When the parameters
 * are not usable (not calibrated yet, or a clock the page does not carry:
 * CPU-time clocks, CLOCK_MONOTONIC_RAW, unknown ids) the function makes the
 * real system call, which the sentry serves. Return values follow the
 * kernel's convention (-errno), as glibc expects of a vDSO.
 *
 * Built freestanding with -fPIC and linked by vdso.lds: no relocations, no
 * libc, nothing but this file. */
#include "params.h"

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7

#define SYS_gettimeofday 96
#define SYS_time 201
#define SYS_clock_gettime 228
#define SYS_getcpu 309

struct timespec {
	s64 tv_sec;
	s64 tv_nsec;
};
struct timeval {
	s64 tv_sec;
	s64 tv_usec;
};
struct timezone {
	int tz_minuteswest;
	int tz_dsttime;
};

/* Defined by vdso.lds one page below the image. */
extern volatile const struct moat_params moat_params __attribute__((visibility("hidden")));

#define barrier() __asm__ __volatile__("" ::: "memory")

static long syscall2(long nr, long a, long b)
{
	long ret;
	__asm__ __volatile__("syscall" : "=a"(ret) : "0"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ __volatile__("syscall" : "=a"(ret) : "0"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}

/* RDTSC ordered after earlier loads (Linux's rdtsc_ordered). */
static u64 rdtsc_ordered(void)
{
	u32 lo, hi;
	__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((u64)hi << 32) | lo;
}

/* CLOCK_MONOTONIC in nanoseconds plus the offset chosen by `which`
 * (0: none, 1: realtime, 2: boottime). Returns 0 if the page is unusable. */
static int now_ns(int which, s64 *out)
{
	const volatile struct moat_params *p = &moat_params;
	u32 seq;
	s64 ns;
	do {
		seq = p->seq;
		barrier();
		if (!p->enabled)
			return 0;
		u64 tsc = rdtsc_ordered();
		u64 base = p->tsc_base;
		u64 delta = tsc > base ? tsc - base : 0;
		ns = p->mono_base + (s64)(((unsigned __int128)delta * p->mult) >> 32);
		if (which == 1)
			ns += p->real_offset;
		else if (which == 2)
			ns += p->boot_offset;
		barrier();
	} while ((seq & 1) || seq != p->seq);
	*out = ns;
	return 1;
}

static int offset_of_clock(long clock)
{
	switch (clock) {
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
		return 0;
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		return 1;
	case CLOCK_BOOTTIME:
		return 2;
	default:
		return -1;
	}
}

long __vdso_clock_gettime(long clock, struct timespec *ts)
{
	int which = offset_of_clock(clock);
	s64 ns;
	if (which < 0 || !now_ns(which, &ns))
		return syscall2(SYS_clock_gettime, clock, (long)ts);
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return 0;
}

long __vdso_gettimeofday(struct timeval *tv, struct timezone *tz)
{
	s64 ns;
	if (!now_ns(1, &ns))
		return syscall2(SYS_gettimeofday, (long)tv, (long)tz);
	if (tv) {
		tv->tv_sec = ns / 1000000000;
		tv->tv_usec = ns % 1000000000 / 1000;
	}
	if (tz) {
		/* The sandbox's clock is UTC, as the system call reports it. */
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}

long __vdso_time(long *t)
{
	s64 ns;
	if (!now_ns(1, &ns))
		return syscall2(SYS_time, (long)t, 0);
	long sec = ns / 1000000000;
	if (t)
		*t = sec;
	return sec;
}

/* The CPU the calling thread runs on, from the TSC_AUX register the host
 * kernel sets to cpu | node << 12 (what the sentry's getcpu reports too). */
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
	u32 lo, hi, aux;
	(void)cache;
	if (!moat_params.enabled)
		return syscall3(SYS_getcpu, (long)cpu, (long)node, 0);
	__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	(void)lo;
	(void)hi;
	if (cpu)
		*cpu = aux & 0xfff;
	if (node)
		*node = aux >> 12;
	return 0;
}

long clock_gettime(long, struct timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
long gettimeofday(struct timeval *, struct timezone *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
