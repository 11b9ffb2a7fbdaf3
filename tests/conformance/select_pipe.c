/* select and pselect6 on a pipe: the fd_sets are written back with only
 * the ready descriptors, the timeout with the time left (zero after a
 * timeout), EBADF for a closed descriptor, EINVAL for a negative count
 * or timeout. */
#include "conf.h"
#include <signal.h>
#include <sys/select.h>
#include <time.h>

int main(void) {
    int p[2];
    if (pipe(p) != 0) return 1;
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    FD_SET(p[1], &r);
    struct timeval tv = {0, 0};
    int n = select(p[1] + 1, &r, &w, NULL, &tv);
    say("empty: ret=%d r0=%d r1=%d w1=%d", n, FD_ISSET(p[0], &r), FD_ISSET(p[1], &r), FD_ISSET(p[1], &w));

    (void)!write(p[1], "x", 1);
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(p[1], &w);
    n = select(p[1] + 1, &r, &w, NULL, NULL);
    say("after write: ret=%d r0=%d w1=%d", n, FD_ISSET(p[0], &r), FD_ISSET(p[1], &w));

    char c;
    (void)!read(p[0], &c, 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 30 * 1000;
    n = select(p[0] + 1, &r, NULL, NULL, &tv);
    say("timeout: ret=%d r0=%d tv=%ld.%06ld", n, FD_ISSET(p[0], &r), (long)tv.tv_sec, (long)tv.tv_usec);

    tv.tv_sec = 5;
    tv.tv_usec = 0;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    (void)!write(p[1], "y", 1);
    n = select(p[0] + 1, &r, NULL, NULL, &tv);
    say("ready at once: ret=%d r0=%d time left written=%s", n, FD_ISSET(p[0], &r), YN(tv.tv_sec < 5 || tv.tv_usec != 0));

    close(p[1]);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    (void)!read(p[0], &c, 1);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    n = select(p[0] + 1, &r, NULL, NULL, &tv);
    say("writer closed: ret=%d r0=%d", n, FD_ISSET(p[0], &r));

    FD_ZERO(&r);
    FD_SET(p[1], &r);
    REPORT("closed fd", select(p[1] + 1, &r, NULL, NULL, &tv));
    REPORT("negative nfds", select(-1, NULL, NULL, NULL, &tv));
    tv.tv_sec = -1;
    REPORT("negative timeout", select(0, NULL, NULL, NULL, &tv));

    sigset_t none;
    sigemptyset(&none);
    struct timespec ts = {0, 10 * 1000 * 1000};
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    n = pselect(p[0] + 1, &r, NULL, NULL, &ts, &none);
    say("pselect hung-up pipe: ret=%d r0=%d", n, FD_ISSET(p[0], &r));
    return 0;
}
