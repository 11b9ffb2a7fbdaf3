/* Writing to a read-only page raises SIGSEGV with SEGV_ACCERR at that address. */
#include "conf.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>

static sigjmp_buf env;
static void *fault_addr;
static int fault_code;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    siglongjmp(env, 1);
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    say("sigaction: %d", sigaction(SIGSEGV, &sa, NULL));
    char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 'x';
    mprotect(p, 4096, PROT_READ);
    if (sigsetjmp(env, 1) == 0) {
        *(volatile char *)(p + 8) = 'y';
        say("write to read-only page did not fault");
    } else {
        say("caught SIGSEGV at the written address: %s", YN(fault_addr == p + 8));
        say("si_code is SEGV_ACCERR: %s", YN(fault_code == SEGV_ACCERR));
    }
    say("content unchanged: %s", YN(p[0] == 'x' && p[8] == 0));
    return 0;
}
