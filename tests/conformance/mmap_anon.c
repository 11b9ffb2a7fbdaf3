/* Anonymous private read-write mmap: zero-filled, writable, munmap succeeds. */
#include "conf.h"
#include <stdint.h>
#include <sys/mman.h>

int main(void) {
    size_t len = 3 * 4096;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    say("mmap succeeded: %s", YN(p != MAP_FAILED));
    if (p == MAP_FAILED) return 1;
    say("page aligned: %s", YN(((uintptr_t)p & 4095) == 0));
    int zero = 1;
    for (size_t i = 0; i < len; i++) zero &= p[i] == 0;
    say("zero filled: %s", YN(zero));
    for (size_t i = 0; i < len; i++) p[i] = (unsigned char)(i ^ 0x5a);
    int ok = 1;
    for (size_t i = 0; i < len; i++) ok &= p[i] == (unsigned char)(i ^ 0x5a);
    say("holds what was written: %s", YN(ok));

    say("munmap middle page: %d", munmap(p + 4096, 4096));
    say("outer pages intact: %s", YN(p[0] == 0x5a && p[2 * 4096] == (unsigned char)((2 * 4096) ^ 0x5a)));
    say("munmap rest: %d", munmap(p, len));
    say("munmap of unmapped range: %d", munmap(p, len));
    REPORT("munmap unaligned", munmap(p + 1, 4096));
    REPORT("munmap length 0", munmap(p, 0));

    /* Many small mappings, touched and released. */
    int good = 1;
    for (int i = 0; i < 64; i++) {
        char *q = mmap(NULL, 4096 * (i % 4 + 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q == MAP_FAILED) { good = 0; break; }
        q[0] = 1;
        q[4096 * (i % 4 + 1) - 1] = 2;
        good &= munmap(q, 4096 * (i % 4 + 1)) == 0;
    }
    say("64 map/touch/unmap cycles: %s", YN(good));
    return 0;
}
