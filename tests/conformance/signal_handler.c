/* Handlers run with SA_SIGINFO and see si_signo/si_code/si_pid for raise()
 * (SI_TKILL) and kill(getpid()) (SI_USER); the interrupted code resumes with
 * its registers and FPU state intact; SA_RESETHAND and SA_NODEFER. */
#include "conf.h"
#include <signal.h>
#include <stdint.h>

static volatile int hits, depth, max_depth, last_signo, last_code, pid_ok, uid_ok;
static volatile int usr2_blocked_inside, usr1_blocked_inside, rsp_aligned;

static void on_info(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits++;
    last_signo = si->si_signo;
    last_code = si->si_code;
    pid_ok = si->si_pid == getpid();
    uid_ok = si->si_uid == getuid();
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    usr1_blocked_inside = sigismember(&cur, SIGUSR1);
    usr2_blocked_inside = sigismember(&cur, SIGUSR2);
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    rsp_aligned = (sp % 16) == 0;
    (void)sig;
}

static volatile int nested_calls;

static void nested(int sig) {
    depth++;
    nested_calls++;
    if (depth > max_depth) max_depth = depth;
    if (nested_calls < 3) raise(sig);
    depth--;
}

static void plain(int sig) {
    last_signo = sig;
    hits++;
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    say("sigaction: %d", sigaction(SIGUSR1, &sa, NULL));

    volatile double x = 1.5;
    say("raise: %d", raise(SIGUSR1));
    say("hits=%d signo=%s code=%s pid ok=%s uid ok=%s", hits, last_signo == SIGUSR1 ? "USR1" : "?",
        last_code == SI_TKILL ? "SI_TKILL" : "?", YN(pid_ok), YN(uid_ok));
    say("inside: USR1 blocked=%s USR2 (sa_mask) blocked=%s frame aligned=%s", YN(usr1_blocked_inside),
        YN(usr2_blocked_inside), YN(rsp_aligned));
    say("fp survives: %s", YN(x * 2 == 3.0));

    say("kill: %d", kill(getpid(), SIGUSR1));
    say("hits=%d code=%s pid ok=%s", hits, last_code == SI_USER ? "SI_USER" : "?", YN(pid_ok));
    sigset_t cur;
    sigprocmask(SIG_SETMASK, NULL, &cur);
    say("mask restored after return: %s", YN(!sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGUSR2)));

    /* A blocked signal waits, and runs when unblocked. */
    sigset_t b;
    sigemptyset(&b);
    sigaddset(&b, SIGUSR1);
    sigprocmask(SIG_BLOCK, &b, NULL);
    raise(SIGUSR1);
    say("blocked: hits=%d", hits);
    sigset_t pend;
    sigpending(&pend);
    say("pending while blocked: %s", YN(sigismember(&pend, SIGUSR1)));
    sigprocmask(SIG_UNBLOCK, &b, NULL);
    say("unblocked: hits=%d", hits);

    /* SA_RESETHAND: the second one takes the default action (ignored for SIGWINCH). */
    struct sigaction rh = {0};
    rh.sa_handler = plain;
    rh.sa_flags = SA_RESETHAND;
    sigaction(SIGWINCH, &rh, NULL);
    hits = 0;
    raise(SIGWINCH);
    struct sigaction now;
    sigaction(SIGWINCH, NULL, &now);
    say("resethand: hits=%d now default=%s", hits, YN(now.sa_handler == SIG_DFL));
    raise(SIGWINCH);
    say("second: hits=%d", hits);

    /* SA_NODEFER lets the handler nest; without it the signal waits. */
    struct sigaction nd = {0};
    nd.sa_handler = nested;
    nd.sa_flags = SA_NODEFER;
    sigaction(SIGUSR2, &nd, NULL);
    raise(SIGUSR2);
    say("nodefer max depth: %d", max_depth);
    nd.sa_flags = 0;
    sigaction(SIGUSR2, &nd, NULL);
    max_depth = depth = nested_calls = 0;
    raise(SIGUSR2);
    say("deferred max depth: %d calls: %d", max_depth, nested_calls);
    return 0;
}
