/* signalfd and signalfd4: reading blocked pending signals of the mask as
 * struct signalfd_siginfo (kill, sigqueue with a value, SIGCHLD), several
 * records in one read, EAGAIN and EINVAL, the flags, changing the mask of
 * an existing signalfd, SIGKILL/SIGSTOP silently left out, readiness for
 * poll and epoll, a blocking read and a poll woken by a child's signal. */
#include "conf.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

static int pollin(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, 0);
    return r < 0 ? -1 : p.revents;
}

static void show(const char *label, long r, struct signalfd_siginfo *s) {
    if (r < (long)sizeof *s) {
        say("%s: ret=%ld errno=%s", label, r, errname(r < 0 ? errno : 0));
        return;
    }
    say("%s: ret=%ld signo=%u code=%d pid_is_me=%s uid=%u int=%d ptr=%#llx status=%d", label, r, s->ssi_signo,
        s->ssi_code, YN(s->ssi_pid == (uint32_t)getpid()), s->ssi_uid, s->ssi_int, (unsigned long long)s->ssi_ptr,
        s->ssi_status);
}

int main(void) {
    say("sizeof signalfd_siginfo: %zu", sizeof(struct signalfd_siginfo));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN + 1);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);

    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    say("signalfd: ok=%s flags=%#x cloexec=%d", YN(fd >= 0), fcntl(fd, F_GETFL), fcntl(fd, F_GETFD));
    struct signalfd_siginfo si[4];
    errno = 0;
    long r = read(fd, si, sizeof si[0]);
    show("read empty", r, si);
    say("poll empty: %#x", pollin(fd));
    kill(getpid(), SIGUSR1);
    say("poll pending: %#x", pollin(fd));
    errno = 0;
    r = read(fd, si, 64);
    show("read 64 bytes", r, si);
    errno = 0;
    r = read(fd, si, sizeof si[0]);
    show("read kill", r, si);
    sigset_t pend;
    sigpending(&pend);
    say("USR1 still pending: %s", YN(sigismember(&pend, SIGUSR1)));

    union sigval val = {.sival_int = 1234};
    sigqueue(getpid(), SIGRTMIN + 1, val);
    raise(SIGUSR2);
    errno = 0;
    r = read(fd, si, sizeof si);
    say("read two: ret=%ld", r);
    show("  first", sizeof si[0], &si[0]);
    show("  second", sizeof si[0], &si[1]);

    /* A child's exit. */
    pid_t child = fork();
    if (child == 0) _exit(7);
    struct pollfd p = {fd, POLLIN, 0};
    r = poll(&p, 1, 5000);
    say("poll for SIGCHLD: %ld revents=%#x", r, p.revents);
    errno = 0;
    r = read(fd, si, sizeof si[0]);
    show("read SIGCHLD", r, si);
    say("  ssi_pid is child: %s", YN(si[0].ssi_pid == (uint32_t)child));
    waitpid(child, NULL, 0);

    /* Change the mask: only SIGUSR2 now, with SIGKILL and SIGSTOP asked for. */
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, SIGUSR2);
    sigaddset(&only, SIGKILL);
    sigaddset(&only, SIGSTOP);
    r = signalfd(fd, &only, 0);
    say("update mask returns same fd: %s", YN(r == fd));
    kill(getpid(), SIGUSR1);
    errno = 0;
    r = read(fd, si, sizeof si[0]);
    show("USR1 not in mask", r, si);
    kill(getpid(), SIGUSR2);
    errno = 0;
    r = read(fd, si, sizeof si[0]);
    show("USR2 in mask", r, si);
    /* Drain USR1 through another signalfd. */
    int fd2 = signalfd(-1, &set, 0);
    errno = 0;
    r = read(fd2, si, sizeof si[0]);
    show("USR1 through a second signalfd", r, si);

    /* Errors. */
    REPORT("bad flags", syscall(SYS_signalfd4, -1, &set, 8, 0x10));
    REPORT("bad size", syscall(SYS_signalfd4, -1, &set, 4, 0));
    REPORT("not a signalfd", ({ int pp[2]; pipe(pp); signalfd(pp[0], &set, 0); }));
    REPORT("bad fd", signalfd(999, &set, 0));
    REPORT("old signalfd call", syscall(SYS_signalfd, -1, &set, 8) >= 0 ? 0 : -1);
    REPORT("write", write(fd2, si, sizeof si[0]));

    /* A blocking read and an epoll wait, each woken by a child's kill. */
    pid_t parent = getpid();
    child = fork();
    if (child == 0) {
        struct timespec d = {0, 30 * 1000 * 1000};
        nanosleep(&d, NULL);
        kill(parent, SIGUSR1);
        nanosleep(&d, NULL);
        nanosleep(&d, NULL);
        kill(parent, SIGUSR2);
        _exit(0);
    }
    errno = 0;
    r = read(fd2, si, sizeof si[0]);
    say("blocking read: ret=%ld signo=%u", r, si[0].ssi_signo);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 5}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    r = epoll_wait(ep, &out, 1, 5000);
    say("epoll woken: %ld data=%u", r, out.data.u32);
    errno = 0;
    r = read(fd, si, sizeof si[0]);
    say("read after epoll: ret=%ld signo=%u", r, si[0].ssi_signo);
    waitpid(child, NULL, 0);
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    r = readlink(path, link, sizeof link - 1);
    say("link: %s", link);
    return 0;
}
