/* brk(2)/sbrk(3): query, grow, use the new memory, shrink, and the
 * "out of range returns the current break" rule. Prints relations only. */
#include "conf.h"
#include <stdint.h>

static uintptr_t sys_brk(uintptr_t addr) { return (uintptr_t)syscall(SYS_brk, addr); }

int main(void) {
    uintptr_t cur = sys_brk(0);
    say("brk(0) is nonzero: %s", YN(cur != 0));
    say("brk(0) is stable: %s", YN(sys_brk(0) == cur));

    uintptr_t grown = sys_brk(cur + 65536);
    say("grow by 64KiB returns new break: %s", YN(grown == cur + 65536));

    unsigned char *p = (unsigned char *)cur;
    int zero = 1;
    for (int i = 0; i < 65536; i++) zero &= p[i] == 0;
    say("new memory is zeroed: %s", YN(zero));
    for (int i = 0; i < 65536; i++) p[i] = (unsigned char)(i * 7);
    int ok = 1;
    for (int i = 0; i < 65536; i++) ok &= p[i] == (unsigned char)(i * 7);
    say("new memory holds what was written: %s", YN(ok));

    uintptr_t shrunk = sys_brk(cur + 4096);
    say("shrink returns new break: %s", YN(shrunk == cur + 4096));
    say("memory below the break survives: %s", YN(p[100] == (unsigned char)(100 * 7)));
    uintptr_t regrown = sys_brk(cur + 8192);
    say("regrow returns new break: %s", YN(regrown == cur + 8192));
    say("regrown page is zeroed again: %s", YN(p[4096 + 5] == 0));

    say("brk below the start returns current break: %s", YN(sys_brk(1) == cur + 8192));
    say("brk to a huge address returns current break: %s",
        YN(sys_brk((uintptr_t)1 << 46) == cur + 8192));
    say("brk back to start: %s", YN(sys_brk(cur) == cur));

    void *old = sbrk(0);
    void *prev = sbrk(4096);
    say("sbrk(4096) returns old break: %s", YN(prev == old));
    say("sbrk(0) afterwards is 4096 higher: %s", YN((char *)sbrk(0) == (char *)old + 4096));
    ((char *)prev)[4095] = 1;
    say("sbrk(-4096) returns the old break: %s", YN(sbrk(-4096) == (char *)old + 4096));
    return 0;
}
