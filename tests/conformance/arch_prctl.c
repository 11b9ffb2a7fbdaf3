/* arch_prctl(2) ARCH_SET_FS / ARCH_GET_FS round trip via raw syscalls.
 * While FS points elsewhere no libc call is made (errno lives in TLS). */
#include "conf.h"
#include <asm/prctl.h>
#include <stdint.h>

static long raw2(long nr, long a, long b) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
    return ret;
}

static uint64_t fake_tls[64] __attribute__((aligned(64)));

int main(void) {
    uint64_t orig = 0, got = 0, after = 0;
    long r1 = raw2(SYS_arch_prctl, ARCH_GET_FS, (long)&orig);
    long r2 = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)fake_tls);
    long r3 = raw2(SYS_arch_prctl, ARCH_GET_FS, (long)&got);
    long r4 = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)orig);
    long r5 = raw2(SYS_arch_prctl, ARCH_GET_FS, (long)&after);
    say("get fs: %ld, original nonzero: %s", r1, YN(orig != 0));
    say("set fs: %ld", r2);
    say("get fs returns what was set: %ld %s", r3, YN(got == (uint64_t)(uintptr_t)fake_tls));
    say("restore: %ld %s", r4, YN(r5 == 0 && after == orig));
    say("bad code: %ld", raw2(SYS_arch_prctl, 0x9999, 0));
    say("get fs to bad pointer: %ld", raw2(SYS_arch_prctl, ARCH_GET_FS, 8));
    return 0;
}
