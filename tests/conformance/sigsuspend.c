/* rt_sigsuspend, rt_sigpending, rt_sigtimedwait, rt_sigqueueinfo on the
 * process itself: a blocked pending signal is reported by sigpending,
 * sigsuspend runs its handler with the temporary mask and returns EINTR
 * with the old mask back, sigtimedwait dequeues without a handler and times
 * out with EAGAIN. */
#include "conf.h"
#include <signal.h>
#include <time.h>

static volatile int hits, usr2_blocked_in_handler;

static void handler(int sig) {
    (void)sig;
    hits++;
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    usr2_blocked_in_handler = sigismember(&cur, SIGUSR2);
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = handler;
    sigaction(SIGUSR1, &sa, NULL);

    sigset_t usr1, empty, cur, pend;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    raise(SIGUSR1);
    sigpending(&pend);
    say("pending: USR1=%s USR2=%s hits=%d", YN(sigismember(&pend, SIGUSR1)), YN(sigismember(&pend, SIGUSR2)), hits);
    REPORT("bad sigpending size", syscall(SYS_rt_sigpending, &pend, 16));

    sigset_t tmp;
    sigemptyset(&tmp);
    sigaddset(&tmp, SIGUSR2);
    REPORT("sigsuspend", sigsuspend(&tmp));
    sigprocmask(SIG_SETMASK, NULL, &cur);
    say("hits=%d USR2 blocked in handler=%s USR1 blocked after=%s USR2 blocked after=%s", hits,
        YN(usr2_blocked_in_handler), YN(sigismember(&cur, SIGUSR1)), YN(sigismember(&cur, SIGUSR2)));
    REPORT("bad sigsuspend size", syscall(SYS_rt_sigsuspend, &tmp, 4));

    /* sigtimedwait takes a pending blocked signal without running the handler. */
    raise(SIGUSR1);
    siginfo_t si;
    struct timespec zero = {0, 0}, short_wait = {0, 20 * 1000 * 1000};
    int r = sigtimedwait(&usr1, &si, &zero);
    say("sigtimedwait: %s code=%d hits=%d", r == SIGUSR1 ? "USR1" : "?", si.si_code, hits);
    REPORT("sigtimedwait nothing pending, zero timeout", sigtimedwait(&usr1, &si, &zero));
    REPORT("sigtimedwait nothing pending, 20ms", sigtimedwait(&usr1, &si, &short_wait));
    struct timespec bad = {0, 2000000000};
    REPORT("sigtimedwait bad timeout", sigtimedwait(&usr1, &si, &bad));

    /* rt_sigqueueinfo to ourselves with SI_QUEUE and a value. */
    siginfo_t q = {0};
    q.si_code = SI_QUEUE;
    q.si_value.sival_int = 42;
    q.si_pid = getpid();
    q.si_uid = getuid();
    REPORT("rt_sigqueueinfo", syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &q));
    r = sigwaitinfo(&usr1, &si);
    say("sigwaitinfo: %s code=%s value=%d", r == SIGUSR1 ? "USR1" : "?", si.si_code == SI_QUEUE ? "SI_QUEUE" : "?",
        si.si_value.sival_int);
    q.si_code = SI_USER;
    REPORT("rt_sigqueueinfo faking SI_USER to another pid", syscall(SYS_rt_sigqueueinfo, 99999999, SIGUSR1, &q));
    return 0;
}
