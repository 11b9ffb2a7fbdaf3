/* timerfd: create on each clock (the _ALARM ones as root), flags, a
 * disarmed read (EAGAIN), a one-shot and an interval timer counted by
 * read, gettime of a disarmed and an armed timer, settime's old value,
 * TFD_TIMER_ABSTIME in the past (expires at once) and the future,
 * readiness for poll and epoll, a blocking read, and the errors. */
#include "conf.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

static void ms(long n) {
    struct timespec d = {n / 1000, (n % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

static int pollin(int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    int r = poll(&p, 1, 0);
    return r < 0 ? -1 : p.revents;
}

int main(void) {
    const int clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
                          CLOCK_BOOTTIME_ALARM, CLOCK_PROCESS_CPUTIME_ID, CLOCK_MONOTONIC_RAW, 42};
    for (unsigned i = 0; i < sizeof clocks / sizeof *clocks; i++) {
        errno = 0;
        int fd = timerfd_create(clocks[i], 0);
        say("create clock %d: ok=%s errno=%s", clocks[i], YN(fd >= 0), errname(fd < 0 ? errno : 0));
        if (fd >= 0) close(fd);
    }
    REPORT("create bad flags", timerfd_create(CLOCK_MONOTONIC, 0x10));
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    say("flags=%#x cloexec=%d", fcntl(fd, F_GETFL), fcntl(fd, F_GETFD));
    uint64_t n = 0;
    REPORT("read disarmed", read(fd, &n, 8));
    REPORT("read 4 bytes", read(fd, &n, 4));
    struct itimerspec cur;
    timerfd_gettime(fd, &cur);
    say("gettime disarmed: %ld.%09ld / %ld.%09ld", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec,
        (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
    say("poll disarmed: %#x", pollin(fd));

    /* One shot, 20 ms. */
    struct itimerspec its = {{0, 0}, {0, 20 * 1000000L}};
    REPORT("settime 20ms", timerfd_settime(fd, 0, &its, NULL));
    timerfd_gettime(fd, &cur);
    say("armed: left in (0,20ms]=%s interval=%ld", YN(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000),
        cur.it_interval.tv_nsec);
    ms(60);
    say("poll expired: %#x", pollin(fd));
    long r = read(fd, &n, 8);
    say("read expired: %ld count=%llu", r, (unsigned long long)n);
    REPORT("read again", read(fd, &n, 8));
    timerfd_gettime(fd, &cur);
    say("after one shot: %ld.%09ld", (long)cur.it_value.tv_sec, cur.it_value.tv_nsec);

    /* Interval: 10 ms every 10 ms; after ~105 ms about 10 expiries. The
     * count is checked against the time that really passed (a loaded
     * machine oversleeps): one per 10 ms, give or take two. */
    its.it_value.tv_nsec = 10 * 1000000L;
    its.it_interval.tv_nsec = 10 * 1000000L;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    timerfd_settime(fd, 0, &its, NULL);
    ms(105);
    r = read(fd, &n, 8);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long periods = ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000) / 10;
    say("interval read: %ld count matches the time passed=%s", r,
        YN(n >= 5 && (long long)n <= periods + 1 && (long long)n + 2 >= periods - 1));
    struct itimerspec old;
    its.it_value.tv_sec = 100;
    its.it_value.tv_nsec = 0;
    its.it_interval.tv_nsec = 0;
    timerfd_settime(fd, 0, &its, &old);
    say("old interval: %ld.%09ld", (long)old.it_interval.tv_sec, old.it_interval.tv_nsec);
    timerfd_gettime(fd, &cur);
    say("100 s timer: left>=99=%s", YN(cur.it_value.tv_sec >= 99));
    /* Setting again forgets unread expiries. */
    its.it_value.tv_sec = 0;
    its.it_value.tv_nsec = 1000000L;
    timerfd_settime(fd, 0, &its, NULL);
    ms(20);
    its.it_value.tv_nsec = 0;
    timerfd_settime(fd, 0, &its, &old);
    REPORT("read after disarm", read(fd, &n, 8));

    /* Absolute times on the realtime clock: past, then 30 ms ahead. */
    int rt = timerfd_create(CLOCK_REALTIME, 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    its.it_value.tv_sec = now.tv_sec - 10;
    its.it_value.tv_nsec = 0;
    REPORT("abstime past", timerfd_settime(rt, TFD_TIMER_ABSTIME, &its, NULL));
    r = read(rt, &n, 8);
    say("read past: %ld count=%llu", r, (unsigned long long)n);
    clock_gettime(CLOCK_REALTIME, &now);
    its.it_value = now;
    its.it_value.tv_nsec += 30 * 1000000L;
    if (its.it_value.tv_nsec >= 1000000000L) {
        its.it_value.tv_sec++;
        its.it_value.tv_nsec -= 1000000000L;
    }
    REPORT("abstime future (cancel on set)", timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL));
    /* A blocking read waits for it. */
    r = read(rt, &n, 8);
    struct timespec after;
    clock_gettime(CLOCK_REALTIME, &after);
    int late = after.tv_sec > its.it_value.tv_sec || (after.tv_sec == its.it_value.tv_sec && after.tv_nsec >= its.it_value.tv_nsec);
    say("blocking read: %ld count=%llu not early=%s", r, (unsigned long long)n, YN(late));

    /* Monotonic absolute time via epoll. */
    int mono = timerfd_create(CLOCK_MONOTONIC, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 3}, out;
    REPORT("epoll add", epoll_ctl(ep, EPOLL_CTL_ADD, mono, &ev));
    clock_gettime(CLOCK_MONOTONIC, &now);
    its.it_value = now;
    its.it_value.tv_sec += 0;
    its.it_value.tv_nsec += 20 * 1000000L;
    if (its.it_value.tv_nsec >= 1000000000L) {
        its.it_value.tv_sec++;
        its.it_value.tv_nsec -= 1000000000L;
    }
    timerfd_settime(mono, TFD_TIMER_ABSTIME, &its, NULL);
    r = epoll_wait(ep, &out, 1, 0);
    say("epoll before: %ld", r);
    r = epoll_wait(ep, &out, 1, 5000);
    say("epoll woken: %ld events=%#x data=%u", r, out.events, out.data.u32);

    /* Errors. */
    its.it_value.tv_nsec = 1000000000L;
    REPORT("settime bad nsec", timerfd_settime(mono, 0, &its, NULL));
    its.it_value.tv_nsec = 0;
    REPORT("settime bad flags", timerfd_settime(mono, 4, &its, NULL));
    REPORT("settime on a pipe", ({ int p[2]; pipe(p); timerfd_settime(p[0], 0, &its, NULL); }));
    REPORT("gettime bad fd", timerfd_gettime(999, &cur));
    REPORT("write", write(mono, &n, 8));
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", mono);
    r = readlink(path, link, sizeof link - 1);
    say("link: %s", link);
    return 0;
}
