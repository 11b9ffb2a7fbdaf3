/* POSIX timers (timer_create and friends) and the CPU-time interval
 * timers: argument checks, signal delivery with SI_TIMER siginfo, periodic
 * expiry, absolute times, SIGEV_NONE, deletion, fork (not inherited) and
 * CPU-time counting. */
#include "conf.h"
#include <signal.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile sig_atomic_t hits;
static volatile int last_code, last_value, last_timerid;

static void on_signal(int sig, siginfo_t *si, void *uc) {
    (void)sig, (void)uc;
    hits++;
    last_code = si->si_code;
    last_value = si->si_value.sival_int;
    last_timerid = si->si_timerid;
}

static long create(clockid_t clock, struct sigevent *ev, timer_t *t) {
    errno = 0;
    long r = syscall(SYS_timer_create, clock, ev, t);
    return r < 0 ? -errno : r;
}

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
    /* Kernel timer ids are ints; glibc's timer_t wraps them, so these
     * tests use the raw system calls with an int id. */
    int id = -1;
    struct sigevent ev = {0};
    say("MONOTONIC_RAW: %s", errname(-create(CLOCK_MONOTONIC_RAW, 0, (timer_t *)&id)));
    say("unknown clock: %s", errname(-create(99, 0, (timer_t *)&id)));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 0;
    say("signal 0: %s", errname(-create(CLOCK_MONOTONIC, &ev, (timer_t *)&id)));
    ev.sigev_signo = 65;
    say("signal 65: %s", errname(-create(CLOCK_MONOTONIC, &ev, (timer_t *)&id)));
    ev.sigev_signo = SIGUSR1;
    ev.sigev_notify = 77;
    say("bad notify: %s", errname(-create(CLOCK_MONOTONIC, &ev, (timer_t *)&id)));
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev._sigev_un._tid = 999999;
    say("foreign thread id: %s", errname(-create(CLOCK_MONOTONIC, &ev, (timer_t *)&id)));
    say("settime of no timer: %s", errname(syscall(SYS_timer_settime, 12345, 0, 0, 0) < 0 ? errno : 0));
    say("delete of no timer: %s", errname(syscall(SYS_timer_delete, 12345) < 0 ? errno : 0));

    struct sigaction sa = {0};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGUSR1, &sa, 0);
    sigaction(SIGALRM, &sa, 0);
    sigaction(SIGVTALRM, &sa, 0);
    sigaction(SIGPROF, &sa, 0);

    /* One shot, SIGUSR1 with a value. */
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 42;
    say("create: %ld", create(CLOCK_MONOTONIC, &ev, (timer_t *)&id));
    struct itimerspec its = {{0, 0}, {0, 20 * 1000 * 1000}}, cur;
    say("settime: %ld", syscall(SYS_timer_settime, id, 0, &its, 0));
    syscall(SYS_timer_gettime, id, &cur);
    say("gettime: armed %s, at most 20 ms left: %s", YN(cur.it_value.tv_nsec > 0),
        YN(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 20 * 1000 * 1000));
    while (hits == 0) pause();
    say("one shot: hits %d, SI_TIMER %s, value %d, timerid matches %s", hits, YN(last_code == SI_TIMER), last_value,
        YN(last_timerid == id));
    syscall(SYS_timer_gettime, id, &cur);
    say("after expiry: disarmed %s", YN(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0));
    say("overrun: %ld", syscall(SYS_timer_getoverrun, id));

    /* Periodic, every 5 ms: five expiries. */
    hits = 0;
    its.it_interval.tv_nsec = its.it_value.tv_nsec = 5 * 1000 * 1000;
    syscall(SYS_timer_settime, id, 0, &its, 0);
    while (hits < 5) pause();
    struct itimerspec old;
    its = (struct itimerspec){0};
    syscall(SYS_timer_settime, id, 0, &its, &old);
    say("periodic: at least 5 hits %s, old interval 5 ms %s", YN(hits >= 5),
        YN(old.it_interval.tv_sec == 0 && old.it_interval.tv_nsec == 5 * 1000 * 1000));

    /* An absolute time in the past expires at once. */
    hits = 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    its = (struct itimerspec){{0, 0}, {now.tv_sec - 1, 0}};
    syscall(SYS_timer_settime, id, TIMER_ABSTIME, &its, 0);
    while (hits == 0) pause();
    say("absolute time in the past: fired");
    say("bad nanoseconds: %s",
        errname(syscall(SYS_timer_settime, id, 0, &(struct itimerspec){{0, 0}, {0, 1000000000}}, 0) < 0 ? errno : 0));

    /* Not inherited by fork. */
    pid_t pid = fork();
    if (pid == 0) {
        _exit(syscall(SYS_timer_gettime, id, &cur) < 0 && errno == EINVAL ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    say("child has no timer: %s", YN(WIFEXITED(st) && WEXITSTATUS(st) == 0));

    say("delete: %ld", syscall(SYS_timer_delete, id));
    say("gettime after delete: %s", errname(syscall(SYS_timer_gettime, id, &cur) < 0 ? errno : 0));

    /* No sigevent: SIGALRM carrying the timer's id. */
    hits = 0;
    say("default create: %ld", create(CLOCK_REALTIME, 0, (timer_t *)&id));
    its = (struct itimerspec){{0, 0}, {0, 1000 * 1000}};
    syscall(SYS_timer_settime, id, 0, &its, 0);
    while (hits == 0) pause();
    say("default: SI_TIMER %s, value is the id %s", YN(last_code == SI_TIMER), YN(last_value == id));
    syscall(SYS_timer_delete, id);

    /* SIGEV_NONE: counts down, never signals. */
    ev.sigev_notify = SIGEV_NONE;
    create(CLOCK_MONOTONIC, &ev, (timer_t *)&id);
    its = (struct itimerspec){{0, 0}, {10, 0}};
    syscall(SYS_timer_settime, id, 0, &its, 0);
    usleep(20000);
    syscall(SYS_timer_gettime, id, &cur);
    say("SIGEV_NONE counts down: %s", YN(cur.it_value.tv_sec == 9));
    syscall(SYS_timer_delete, id);

    /* A CPU-time timer fires only after that much CPU was used. */
    hits = 0;
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    create(CLOCK_PROCESS_CPUTIME_ID, &ev, (timer_t *)&id);
    double start = cpu_seconds();
    its = (struct itimerspec){{0, 0}, {0, 50 * 1000 * 1000}};
    syscall(SYS_timer_settime, id, 0, &its, 0);
    volatile unsigned long spin = 0;
    while (hits == 0) spin++;
    say("CPU timer: fired after >= 25 ms of CPU: %s", YN(cpu_seconds() - start >= 0.025));
    syscall(SYS_timer_delete, id);

    /* setitimer's CPU-time timers. */
    const int which[] = {ITIMER_VIRTUAL, ITIMER_PROF};
    const char *names[] = {"ITIMER_VIRTUAL", "ITIMER_PROF"};
    for (int i = 0; i < 2; i++) {
        hits = 0;
        struct itimerval iv = {{0, 0}, {0, 30 * 1000}}, got;
        start = cpu_seconds();
        say("%s set: %d", names[i], setitimer(which[i], &iv, 0));
        getitimer(which[i], &got);
        say("%s armed: %s", names[i], YN(got.it_value.tv_usec > 0 || got.it_value.tv_sec > 0));
        while (hits == 0) spin++;
        say("%s: fired after >= 15 ms of CPU: %s, SI_KERNEL %s", names[i], YN(cpu_seconds() - start >= 0.015),
            YN(last_code == SI_KERNEL));
    }
    return 0;
}
