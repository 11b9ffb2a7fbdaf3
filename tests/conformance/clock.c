/* clock_gettime(2): MONOTONIC never goes backwards, REALTIME is plausible,
 * bad clock ids are rejected. Uses raw syscalls (no vDSO). */
#include "conf.h"
#include <time.h>

static long gettime(clockid_t id, struct timespec *ts) {
    return syscall(SYS_clock_gettime, id, ts);
}

int main(void) {
    struct timespec a, b;
    int mono = 1;
    gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 1000; i++) {
        gettime(CLOCK_MONOTONIC, &b);
        if (b.tv_sec < a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec < a.tv_nsec)) mono = 0;
        if (b.tv_nsec < 0 || b.tv_nsec >= 1000000000) mono = 0;
        a = b;
    }
    say("MONOTONIC non-decreasing over 1000 reads: %s", YN(mono));

    struct timespec r;
    say("REALTIME ok: %ld", gettime(CLOCK_REALTIME, &r));
    say("REALTIME after 2020: %s", YN(r.tv_sec > 1577836800));

    struct timespec res;
    say("getres MONOTONIC: %ld", syscall(SYS_clock_getres, CLOCK_MONOTONIC, &res));
    say("resolution <= 1ms: %s", YN(res.tv_sec == 0 && res.tv_nsec <= 1000000));

    /* The libc path (may use the vDSO) agrees in direction. */
    struct timespec l1, l2;
    clock_gettime(CLOCK_MONOTONIC, &l1);
    gettime(CLOCK_MONOTONIC, &b);
    clock_gettime(CLOCK_MONOTONIC, &l2);
    say("libc and raw agree in order: %s",
        YN((l2.tv_sec > l1.tv_sec || (l2.tv_sec == l1.tv_sec && l2.tv_nsec >= l1.tv_nsec))));

    errno = 0;
    long e = gettime(12345, &a);
    say("bad clock id: %ld %s", e, errname(errno));
    errno = 0;
    e = gettime(CLOCK_MONOTONIC, (struct timespec *)8);
    say("bad pointer: %ld %s", e, errname(errno));
    return 0;
}
