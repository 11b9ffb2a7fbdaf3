/* A handler installed without SA_RESTORER can't be delivered on x86-64:
 * Linux raises SIGSEGV instead, which kills the process (SIGSEGV's own
 * handler is reset when its frame fails too).
 * expect-exit: 139 */
#include "conf.h"
#include <signal.h>
#include <stdint.h>

struct ksigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

static void handler(int sig) {
    (void)sig;
    say("handler ran (wrong)");
}

int main(void) {
    struct ksigaction ka = {handler, 0, NULL, 0};
    REPORT("rt_sigaction without SA_RESTORER", syscall(SYS_rt_sigaction, SIGUSR1, &ka, NULL, 8));
    say("raising");
    syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
    say("survived (wrong)");
    return 0;
}
