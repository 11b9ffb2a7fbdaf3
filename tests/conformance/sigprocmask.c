/* rt_sigprocmask(2): block/unblock/setmask, old mask reported, SIGKILL and
 * SIGSTOP silently unblockable, bad arguments rejected. Raw syscalls with
 * the kernel's 8-byte sigset. */
#include "conf.h"
#include <signal.h>
#include <stdint.h>

#define BIT(s) (1ULL << ((s) - 1))

static long mask(int how, uint64_t *set, uint64_t *old) {
    return syscall(SYS_rt_sigprocmask, how, set, old, 8);
}

int main(void) {
    uint64_t set, old;
    mask(SIG_SETMASK, NULL, &old);
    say("initial mask empty: %s", YN(old == 0));

    set = BIT(SIGUSR1);
    say("block USR1: %ld", mask(SIG_BLOCK, &set, &old));
    say("old mask was empty: %s", YN(old == 0));

    set = BIT(SIGUSR2);
    mask(SIG_BLOCK, &set, &old);
    say("old mask is exactly USR1: %s", YN(old == BIT(SIGUSR1)));

    set = BIT(SIGUSR1);
    mask(SIG_UNBLOCK, &set, &old);
    say("old mask is USR1|USR2: %s", YN(old == (BIT(SIGUSR1) | BIT(SIGUSR2))));
    mask(SIG_SETMASK, NULL, &old);
    say("now exactly USR2: %s", YN(old == BIT(SIGUSR2)));

    set = BIT(SIGKILL) | BIT(SIGSTOP) | BIT(SIGTERM);
    mask(SIG_SETMASK, &set, NULL);
    mask(SIG_SETMASK, NULL, &old);
    say("KILL/STOP dropped, TERM kept: %s", YN(old == BIT(SIGTERM)));

    errno = 0;
    long r = mask(99, &set, NULL);
    say("bad how: %ld %s", r, errname(errno));
    errno = 0;
    r = syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4);
    say("bad sigsetsize: %ld %s", r, errname(errno));
    errno = 0;
    r = syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)8, NULL, 8);
    say("bad set pointer: %ld %s", r, errname(errno));

    set = 0;
    mask(SIG_SETMASK, &set, NULL);
    mask(SIG_SETMASK, NULL, &old);
    say("cleared: %s", YN(old == 0));
    return 0;
}
