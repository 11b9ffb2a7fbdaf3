/* Real-time signals queue every instance, each with its value, delivered
 * oldest first and lower numbers first; a standard signal pending twice
 * is delivered once; rt_tgsigqueueinfo targets one thread with the
 * caller's siginfo and refuses to forge SI_USER for another process;
 * sigqueue to a child queues too. */
#include "conf.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

static void drain(const sigset_t *set) {
    struct timespec zero = {0, 0};
    siginfo_t si;
    while (sigtimedwait(set, &si, &zero) > 0) {
        int rt = si.si_signo >= SIGRTMIN;
        say("got %s%d code %d value %d", rt ? "RTMIN+" : "sig ", rt ? si.si_signo - SIGRTMIN : si.si_signo, si.si_code,
            si.si_code == SI_QUEUE ? si.si_value.sival_int : -1);
    }
}

int main(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGRTMIN + 1);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);

    for (int v = 1; v <= 3; v++) sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = v});
    sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 10});
    sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 11});
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    sigset_t pend;
    sigpending(&pend);
    say("pending: RTMIN %d RTMIN+1 %d USR1 %d", sigismember(&pend, SIGRTMIN), sigismember(&pend, SIGRTMIN + 1),
        sigismember(&pend, SIGUSR1));
    drain(&set);

    /* rt_tgsigqueueinfo to this thread with our own siginfo. */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGRTMIN;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = 42;
    long r = syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGRTMIN, &si);
    say("rt_tgsigqueueinfo: %ld", r);
    r = syscall(SYS_rt_tgsigqueueinfo, getpid(), 999999, SIGRTMIN, &si);
    say("rt_tgsigqueueinfo to no thread: %s", r == 0 ? "0" : errname(errno));
    drain(&set);

    /* Another process: SI_USER may not be forged; SI_QUEUE queues. */
    pid_t c = fork();
    if (c == 0) {
        sigset_t s2;
        sigemptyset(&s2);
        sigaddset(&s2, SIGRTMIN + 1);
        int got = 0, sum = 0;
        while (got < 4) {
            siginfo_t in;
            if (sigwaitinfo(&s2, &in) > 0) {
                got++;
                sum = sum * 10 + in.si_value.sival_int;
            }
        }
        _exit(sum == 5678 ? 0 : 1);
    }
    si.si_signo = SIGRTMIN + 1;
    si.si_code = SI_USER;
    r = syscall(SYS_rt_tgsigqueueinfo, c, c, SIGRTMIN + 1, &si);
    say("forged SI_USER to another process: %s", r == 0 ? "0" : errname(errno));
    for (int v = 5; v <= 8; v++) sigqueue(c, SIGRTMIN + 1, (union sigval){.sival_int = v});
    int st;
    waitpid(c, &st, 0);
    say("child got its four values in order: %s", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
    return 0;
}
