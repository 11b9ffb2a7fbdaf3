/* A SIGSEGV handler for a write to a PROT_READ page sees si_addr and
 * SEGV_ACCERR, mprotects the page writable and returns: the write is then
 * retried and succeeds. A write to an unmapped page gives SEGV_MAPERR.
 */
#include "conf.h"
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>

static char *page;
static volatile int faults, code;
static void *volatile addr;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    faults++;
    addr = si->si_addr;
    code = si->si_code;
    if (si->si_addr >= (void *)page && si->si_addr < (void *)(page + 4096))
        mprotect(page, 4096, PROT_READ | PROT_WRITE);
    else
        mmap((void *)((uintptr_t)si->si_addr & ~(uintptr_t)4095), 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    say("sigaction: %d", sigaction(SIGSEGV, &sa, NULL));
    page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    page[100] = 'x';
    say("write retried after the handler: %s", YN(page[100] == 'x'));
    say("faults=%d si_addr is the written byte: %s code=%s", faults, YN(addr == page + 100),
        code == SEGV_ACCERR ? "SEGV_ACCERR" : "?");

    char *hole = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, 4096);
    hole[8] = 'y';
    say("faults=%d unmapped: si_addr ok=%s code=%s value=%c", faults, YN(addr == hole + 8),
        code == SEGV_MAPERR ? "SEGV_MAPERR" : "?", hole[8]);
    return 0;
}
