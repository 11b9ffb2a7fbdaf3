/* Readiness of AF_UNIX sockets through poll, select and epoll: a listener
 * becomes readable with a pending connection, a stream socket with data;
 * a full backlog makes a non-blocking connect EAGAIN and a blocking one
 * wait for accept; sender addresses of unbound senders are empty. */
#include "conf.h"
#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

int main(void) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path + 1, "moat-conf-poll", 14);
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + 15;
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, len);
    listen(l, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out[4];
    REPORT("epoll_ctl listener", epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev));
    REPORT("epoll_wait none", epoll_wait(ep, out, 4, 0));
    int c1 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REPORT("connect 1", connect(c1, (struct sockaddr *)&a, len));
    int n = epoll_wait(ep, out, 4, 1000);
    say("epoll_wait pending: %d data %u events %#x", n, n > 0 ? out[0].data.u32 : 0, n > 0 ? out[0].events : 0);
    int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REPORT("connect 2 non-blocking, backlog full", connect(c2, (struct sockaddr *)&a, len));
    pid_t pid = fork();
    if (pid == 0) {
        int c3 = socket(AF_UNIX, SOCK_STREAM, 0);
        int r = connect(c3, (struct sockaddr *)&a, len);
        (void)!write(c3, "late", 4);
        _exit(r == 0 ? 0 : 1);
    }
    usleep(100000);
    int s1 = accept(l, NULL, NULL);
    say("accept 1 %s", YN(s1 >= 0));
    int s3 = accept(l, NULL, NULL);
    say("accept blocked connector %s", YN(s3 >= 0));
    int st;
    waitpid(pid, &st, 0);
    say("blocked connect exit %d", WEXITSTATUS(st));
    fd_set rf;
    FD_ZERO(&rf);
    FD_SET(s3, &rf);
    FD_SET(s1, &rf);
    struct timeval tv = {1, 0};
    n = select((s1 > s3 ? s1 : s3) + 1, &rf, NULL, NULL, &tv);
    say("select: %d s3 %s s1 %s", n, YN(FD_ISSET(s3, &rf)), YN(FD_ISSET(s1, &rf)));
    struct pollfd p = {s1, POLLIN, 0};
    REPORT("poll s1 empty", poll(&p, 1, 10));
    (void)!write(c1, "x", 1);
    REPORT("poll s1 data", poll(&p, 1, 1000));
    say("revents %#x", p.revents);
    char b[8];
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    n = recvfrom(s1, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
    say("recvfrom stream %d fromlen %u", n, fl);
    int d[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
    send(d[0], "q", 1, 0);
    fl = sizeof from;
    n = recvfrom(d[1], b, sizeof b, 0, (struct sockaddr *)&from, &fl);
    say("recvfrom unbound dgram %d fromlen %u", n, fl);
    send(d[0], "q", 1, 0);
    struct iovec iov = {b, 8};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    n = recvmsg(d[1], &m, 0);
    say("recvmsg unbound dgram %d namelen %u", n, m.msg_namelen);
    ev.events = EPOLLOUT;
    int e2 = epoll_create1(0);
    epoll_ctl(e2, EPOLL_CTL_ADD, d[0], &ev);
    n = epoll_wait(e2, out, 4, 0);
    say("dgram writable: %d %#x", n, n > 0 ? out[0].events : 0);
    return 0;
}
