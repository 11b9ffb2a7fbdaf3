/* epoll: level-triggered reports while ready, edge-triggered once per
 * change, EPOLLONESHOT until EPOLL_CTL_MOD re-arms it, the ctl errors
 * (EEXIST, ENOENT, EINVAL, EPERM, ELOOP), timeouts, a sleep ended by a
 * child's write, nested instances, and closing a watched descriptor. */
#include "conf.h"
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>

static void wait_report(const char *label, int ep, int timeout) {
    struct epoll_event ev[4];
    memset(ev, 0, sizeof ev);
    errno = 0;
    int n = epoll_wait(ep, ev, 4, timeout);
    char buf[256];
    int off = snprintf(buf, sizeof buf, "%s: ret=%d errno=%s", label, n, errname(n < 0 ? errno : 0));
    for (int i = 0; i < n; i++)
        off += snprintf(buf + off, sizeof buf - off, " [%#x data=%llu]", ev[i].events, (unsigned long long)ev[i].data.u64);
    say("%s", buf);
}

static int ctl(int ep, int op, int fd, unsigned events, unsigned long long data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, op, fd, &ev);
}

int main(void) {
    int p[2];
    if (pipe(p) != 0) return 1;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    say("cloexec: %s", YN(fcntl(ep, F_GETFD) & FD_CLOEXEC));
    REPORT("add", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1));
    REPORT("add again", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1));
    REPORT("mod unknown", ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLOUT, 2));
    REPORT("del unknown", ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0));
    REPORT("add itself", ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0));
    REPORT("epfd not epoll", ctl(p[1], EPOLL_CTL_ADD, p[0], EPOLLIN, 0));
    REPORT("bad op", ctl(ep, 9, p[0], EPOLLIN, 0));
    REPORT("closed fd", ctl(ep, EPOLL_CTL_ADD, 99, EPOLLIN, 0));
    int null = open("/dev/null", O_RDONLY);
    REPORT("/dev/null", ctl(ep, EPOLL_CTL_ADD, null, EPOLLIN, 0));
    REPORT("exclusive with oneshot", ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLEXCLUSIVE | EPOLLONESHOT, 0));
    REPORT("create size 0", epoll_create(0));
    REPORT("create1 bad flag", epoll_create1(1));

    wait_report("LT empty, timeout 0", ep, 0);
    wait_report("LT empty, timeout 50", ep, 50);
    (void)!write(p[1], "ab", 2);
    wait_report("LT first", ep, 0);
    wait_report("LT second", ep, 0);

    REPORT("mod to ET", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 3));
    wait_report("ET first", ep, 0);
    wait_report("ET second", ep, 0);
    (void)!write(p[1], "c", 1);
    wait_report("ET after a write", ep, 0);
    wait_report("ET again", ep, 0);

    REPORT("mod to ONESHOT", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 4));
    wait_report("ONESHOT first", ep, 0);
    wait_report("ONESHOT second", ep, 0);
    REPORT("re-arm", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 5));
    wait_report("ONESHOT re-armed", ep, 0);

    char buf[8];
    (void)!read(p[0], buf, sizeof buf);
    REPORT("mod to LT", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN, 6));
    pid_t child = fork();
    if (child == 0) {
        struct timespec d = {0, 30 * 1000 * 1000};
        nanosleep(&d, NULL);
        (void)!write(p[1], "z", 1);
        _exit(0);
    }
    wait_report("woken by child", ep, -1);
    waitpid(child, NULL, 0);

    /* Nested: the outer instance is readable while the inner one is. */
    int outer = epoll_create1(0);
    REPORT("nest", ctl(outer, EPOLL_CTL_ADD, ep, EPOLLIN, 7));
    REPORT("loop", ctl(ep, EPOLL_CTL_ADD, outer, EPOLLIN, 8));
    wait_report("outer", outer, 0);
    (void)!read(p[0], buf, sizeof buf);
    wait_report("outer drained", outer, 0);

    /* A write end: POLLOUT, and POLLERR once the reader is gone. */
    REPORT("add write end", ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 9));
    wait_report("write end", ep, 0);
    REPORT("del write end", ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0));

    /* Closing the only descriptor of the write end hangs the reader up;
     * closing the read end removes its entry. */
    close(p[1]);
    wait_report("writer closed", ep, 0);
    close(p[0]);
    wait_report("reader closed", ep, 0);

    struct epoll_event ev;
    REPORT("maxevents 0", epoll_wait(ep, &ev, 0, 0));
    REPORT("wait on a pipe", epoll_wait(null, &ev, 1, 0));
    return 0;
}
