/* MAP_GROWSDOWN: a fault just below the mapping extends it (also across a
 * skipped page), up to RLIMIT_STACK; beyond that the fault is a SIGSEGV. */
#include "conf.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>

static sigjmp_buf env;

static void on_segv(int sig) {
    (void)sig;
    siglongjmp(env, 1);
}

static int touch(volatile char *p) {
    if (sigsetjmp(env, 1)) return 0;
    *p = 1;
    return *p == 1;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, 0);
    struct rlimit rl = {64 * 4096, 64 * 4096};
    setrlimit(RLIMIT_STACK, &rl);
    char *p = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
    say("mapped: %s", YN(p != MAP_FAILED));
    say("inside: %s", YN(touch(p)));
    say("one page below: %s", YN(touch(p - 4096)));
    say("three pages below (skipping some): %s", YN(touch(p - 3 * 4096 - 100)));
    say("the grown pages read as zero: %s", YN(p[-2 * 4096] == 0));
    say("far below, past RLIMIT_STACK: %s", YN(touch(p - 200 * 4096)));
    char *q = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    say("a plain mapping does not grow: %s", YN(touch(q - 4096)));
    return 0;
}
