/* poll and ppoll on pipes: readiness before and after a write, POLLHUP
 * once the write end is closed, POLLERR on a write end without reader,
 * POLLNVAL for a closed descriptor, negative descriptors ignored, zero
 * and short timeouts, a sleep ended by a child's write, EINVAL for more
 * descriptors than RLIMIT_NOFILE, and the host's stdio. */
#include "conf.h"
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static void show(const char *label, int r, struct pollfd *p, int n) {
    char buf[256];
    int off = snprintf(buf, sizeof buf, "%s: ret=%d errno=%s", label, r, errname(r < 0 ? errno : 0));
    for (int i = 0; i < n; i++) off += snprintf(buf + off, sizeof buf - off, " rev[%d]=%#x", i, p[i].revents);
    say("%s", buf);
}

int main(void) {
    int p[2];
    if (pipe(p) != 0) return 1;
    struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    errno = 0;
    show("empty pipe", poll(fds, 2, 0), fds, 2);
    (void)!write(p[1], "abc", 3);
    show("after write", poll(fds, 2, 0), fds, 2);
    fds[0].events = POLLIN | POLLPRI | POLLRDHUP;
    show("more events asked", poll(fds, 1, 0), fds, 1);
    fds[0].events = POLLIN;
    char c[8];
    (void)!read(p[0], c, sizeof c);
    show("drained, 50 ms", poll(fds, 1, 50), fds, 1);
    struct timespec ts = {0, 0};
    show("ppoll zero", ppoll(fds, 1, &ts, NULL), fds, 1);
    ts.tv_nsec = 20 * 1000 * 1000;
    show("ppoll 20 ms", ppoll(fds, 1, &ts, NULL), fds, 1);
    say("ppoll time left written: %ld.%09ld", (long)ts.tv_sec, ts.tv_nsec);

    /* A child writes while we sleep without a timeout. */
    pid_t child = fork();
    if (child == 0) {
        struct timespec d = {0, 30 * 1000 * 1000};
        nanosleep(&d, NULL);
        (void)!write(p[1], "z", 1);
        _exit(0);
    }
    show("woken by child", poll(fds, 1, -1), fds, 1);
    waitpid(child, NULL, 0);
    (void)!read(p[0], c, sizeof c);

    close(p[1]);
    show("writer closed", poll(fds, 1, 0), fds, 1);
    fds[0].events = 0;
    show("writer closed, no events asked", poll(fds, 1, 0), fds, 1);

    int q[2];
    if (pipe(q) != 0) return 1;
    close(q[0]);
    struct pollfd w = {q[1], POLLOUT, 0};
    show("reader closed", poll(&w, 1, 0), &w, 1);

    struct pollfd odd[3] = {{p[1], POLLIN, 0x77}, {-1, POLLIN, 0x77}, {p[0], POLLIN, 0}};
    show("closed and negative fds", poll(odd, 3, 0), odd, 3);

    /* The host's stdio: stdin is /dev/null, stdout a pipe. */
    struct pollfd stdio[2] = {{0, POLLIN, 0}, {1, POLLOUT, 0}};
    show("stdio", poll(stdio, 2, 0), stdio, 2);
    show("stdio, 20 ms", poll(stdio, 2, 20), stdio, 2);

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    struct pollfd *many = calloc(rl.rlim_cur + 1, sizeof *many);
    for (rlim_t i = 0; i <= rl.rlim_cur; i++) many[i].fd = -1;
    REPORT("nfds over RLIMIT_NOFILE", poll(many, rl.rlim_cur + 1, 0));
    REPORT("nfds at RLIMIT_NOFILE", poll(many, rl.rlim_cur, 0));
    return 0;
}
