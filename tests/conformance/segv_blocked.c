/* A fault while SIGSEGV is blocked is forced: Linux unblocks it, resets
 * the handler to the default and the process dies of SIGSEGV; the handler
 * never runs.
 * expect-exit: 139 */
#include "conf.h"
#include <signal.h>
#include <sys/mman.h>

static void handler(int sig) {
    (void)sig;
    say("handler ran (wrong)");
    _exit(1);
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sigaction(SIGSEGV, &sa, NULL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSEGV);
    sigprocmask(SIG_BLOCK, &s, NULL);
    char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    say("faulting with SIGSEGV blocked");
    *(volatile char *)p = 1;
    say("survived (wrong)");
    return 0;
}
