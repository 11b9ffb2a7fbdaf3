/* mprotect(2) to read-only and back to read-write (no faults taken). */
#include "conf.h"
#include <stdint.h>
#include <sys/mman.h>

int main(void) {
    size_t len = 2 * 4096;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { say("mmap failed"); return 1; }
    p[0] = 'a';
    p[4096] = 'b';
    say("mprotect read-only: %d", mprotect(p, len, PROT_READ));
    say("still readable: %s", YN(p[0] == 'a' && p[4096] == 'b'));
    say("mprotect read-write: %d", mprotect(p, len, PROT_READ | PROT_WRITE));
    p[0] = 'c';
    p[4096] = 'd';
    say("writable again: %s", YN(p[0] == 'c' && p[4096] == 'd'));
    say("mprotect one page none: %d", mprotect(p + 4096, 4096, PROT_NONE));
    say("mprotect it back: %d", mprotect(p + 4096, 4096, PROT_READ | PROT_WRITE));
    say("content kept across PROT_NONE: %s", YN(p[4096] == 'd'));
    REPORT("mprotect unaligned", mprotect(p + 1, 4096, PROT_READ));
    REPORT("mprotect bad prot bits", mprotect(p, 4096, 0x1000));
    say("munmap: %d", munmap(p, len));
    REPORT("mprotect unmapped", mprotect(p, len, PROT_READ));
    return 0;
}
