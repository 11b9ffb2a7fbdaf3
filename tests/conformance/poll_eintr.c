/* Blocking readiness calls interrupted by a SIGALRM handler: poll,
 * select and epoll_wait return EINTR (even with SA_RESTART, as Linux
 * never restarts them after a handler), and ppoll/epoll_pwait run the
 * handler of a blocked signal their temporary mask lets through, then
 * put the old mask back. */
#include "conf.h"
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/time.h>

static volatile int hits;

static void on_signal(int sig) {
    (void)sig;
    hits++;
}

static void arm(void) {
    struct itimerval it = {{0, 0}, {0, 30 * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
    int p[2];
    if (pipe(p) != 0) return 1;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGALRM, &sa, NULL);

    struct pollfd fd = {p[0], POLLIN, 0};
    arm();
    REPORT("poll", poll(&fd, 1, -1));
    arm();
    REPORT("poll with timeout", poll(&fd, 1, 5000));
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    arm();
    REPORT("poll, SA_RESTART", poll(&fd, 1, -1));
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    arm();
    REPORT("select, SA_RESTART", select(p[0] + 1, &r, NULL, NULL, NULL));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    arm();
    REPORT("epoll_wait, SA_RESTART", epoll_wait(ep, &ev, 1, -1));
    say("handler ran %d times", hits);

    /* SIGUSR1 blocked and pending: the temporary mask lets it in. */
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t usr1, none, cur;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    raise(SIGUSR1);
    REPORT("ppoll", ppoll(&fd, 1, NULL, &none));
    sigprocmask(SIG_SETMASK, NULL, &cur);
    say("after ppoll: hits=%d USR1 blocked=%s", hits, YN(sigismember(&cur, SIGUSR1)));
    raise(SIGUSR1);
    REPORT("epoll_pwait", epoll_pwait(ep, &ev, 1, -1, &none));
    sigprocmask(SIG_SETMASK, NULL, &cur);
    say("after epoll_pwait: hits=%d USR1 blocked=%s", hits, YN(sigismember(&cur, SIGUSR1)));
    struct timespec ts = {0, 0};
    REPORT("ppoll zero timeout, signal still blocked", ppoll(&fd, 1, &ts, &usr1));
    say("hits=%d", hits);
    return 0;
}
