/* eventfd and eventfd2: the counter (writes add, a read takes it all or,
 * with EFD_SEMAPHORE, 1), 8-byte transfers only, EAGAIN when empty or
 * when a write would pass 0xfffffffffffffffe, the flags, readiness for
 * poll, select and epoll, a blocked read woken by a child's write, and
 * the /proc/self/fd link. */
#include "conf.h"
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <time.h>

static long rd(int fd, uint64_t *v) { return read(fd, v, 8); }
static long wr(int fd, uint64_t v) { return write(fd, &v, 8); }

static int pollev(int fd, short ev) {
    struct pollfd p = {fd, ev, 0};
    int r = poll(&p, 1, 0);
    return r < 0 ? -1 : p.revents;
}

int main(void) {
    int fd = eventfd(3, 0);
    uint64_t v = 0;
    long r;
    say("eventfd(3): ok=%s flags=%#x cloexec=%d", YN(fd >= 0), fcntl(fd, F_GETFL), fcntl(fd, F_GETFD));
    r = wr(fd, 4);
    say("write 4: %ld", r);
    r = rd(fd, &v);
    say("read: %ld value=%llu", r, (unsigned long long)v);
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    REPORT("read empty nonblocking", rd(fd, &v));
    char small[4] = {0};
    REPORT("read 4 bytes", read(fd, small, 4));
    REPORT("write 4 bytes", write(fd, small, 4));
    REPORT("write ~0", wr(fd, UINT64_MAX));
    REPORT("write max", wr(fd, UINT64_MAX - 1));
    say("poll at max: %#x", pollev(fd, POLLIN | POLLOUT));
    REPORT("write 1 at max", wr(fd, 1));
    REPORT("write 0 at max", wr(fd, 0));
    r = rd(fd, &v);
    say("read max: %ld value=%#llx", r, (unsigned long long)v);
    say("poll empty: %#x", pollev(fd, POLLIN | POLLOUT));
    char big[16];
    memset(big, 0, sizeof big);
    big[0] = 9;
    REPORT("write 16 bytes", write(fd, big, sizeof big));
    wr(fd, 9);
    memset(big, 0, sizeof big);
    r = read(fd, big, sizeof big);
    say("read 16 bytes: %ld value=%d", r, big[0]);
    close(fd);

    /* Semaphore mode. */
    fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    say("semaphore: flags=%#x cloexec=%d", fcntl(fd, F_GETFL), fcntl(fd, F_GETFD));
    for (int i = 0; i < 3; i++) {
        errno = 0;
        v = 0;
        r = rd(fd, &v);
        say("sem read %d: %ld value=%llu errno=%s", i, r, (unsigned long long)v, errname(r < 0 ? errno : 0));
    }
    REPORT("eventfd2 bad flags", syscall(SYS_eventfd2, 0, 0x10));
    REPORT("eventfd (old call)", syscall(SYS_eventfd, 5) >= 0 ? 0 : -1);

    /* select and epoll. */
    fd_set rs, ws;
    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_SET(fd, &rs);
    FD_SET(fd, &ws);
    struct timeval tv = {0, 0};
    r = select(fd + 1, &rs, &ws, NULL, &tv);
    say("select empty: %ld r=%d w=%d", r, FD_ISSET(fd, &rs), FD_ISSET(fd, &ws));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    REPORT("epoll_ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
    struct epoll_event out[2];
    r = epoll_wait(ep, out, 2, 0);
    say("epoll empty: %ld", r);
    wr(fd, 2);
    r = epoll_wait(ep, out, 2, 0);
    say("epoll after write: %ld events=%#x data=%u", r, r > 0 ? out[0].events : 0, r > 0 ? out[0].data.u32 : 0);

    /* A blocking read woken by a child's write. */
    int b = eventfd(0, 0);
    pid_t child = fork();
    if (child == 0) {
        struct timespec d = {0, 30 * 1000 * 1000};
        nanosleep(&d, NULL);
        wr(b, 41);
        wr(b, 1);
        _exit(0);
    }
    r = rd(b, &v);
    say("blocking read: %ld value>=41 %s", r, YN(v >= 41));
    waitpid(child, NULL, 0);
    /* And an epoll wait woken likewise. */
    close(b);
    b = eventfd(0, 0);
    struct epoll_event bev = {.events = EPOLLIN, .data.u32 = 9};
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    epoll_ctl(ep, EPOLL_CTL_ADD, b, &bev);
    child = fork();
    if (child == 0) {
        struct timespec d = {0, 30 * 1000 * 1000};
        nanosleep(&d, NULL);
        wr(b, 5);
        _exit(0);
    }
    r = epoll_wait(ep, out, 2, 5000);
    say("epoll woken: %ld data=%u", r, r > 0 ? out[0].data.u32 : 0);
    waitpid(child, NULL, 0);

    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", b);
    r = readlink(path, link, sizeof link - 1);
    say("link: %s", link);
    struct stat st;
    fstat(b, &st);
    say("fstat: mode&0777=%o", st.st_mode & 0777);
    return 0;
}
