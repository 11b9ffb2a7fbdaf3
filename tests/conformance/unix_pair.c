/* AF_UNIX socketpair: stream bytes flow across writes, datagram and
 * seqpacket message boundaries with MSG_TRUNC, MSG_PEEK, MSG_DONTWAIT,
 * readv/writev, SO_TYPE/SO_ERROR/SO_DOMAIN/SO_ACCEPTCONN, poll readiness
 * and other families refused with EAFNOSUPPORT. */
#include "conf.h"
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

static int opt(int fd, int name) {
    int v = -1;
    socklen_t l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, name, &v, &l) != 0) return -errno;
    return v;
}

int main(void) {
    int s[2];
    REPORT("socketpair stream", socketpair(AF_UNIX, SOCK_STREAM, 0, s));
    char buf[64];
    REPORT("empty dontwait", recv(s[1], buf, sizeof buf, MSG_DONTWAIT));
    struct pollfd p = {s[1], POLLIN | POLLOUT, 0};
    poll(&p, 1, 0);
    say("poll empty: %#x", p.revents);
    (void)!write(s[0], "hello ", 6);
    (void)!write(s[0], "world", 5);
    poll(&p, 1, 0);
    say("poll data: %#x", p.revents);
    int n = recv(s[1], buf, 4, MSG_PEEK);
    say("peek %d %.*s", n, n, buf);
    n = read(s[1], buf, sizeof buf);
    say("read %d %.*s", n, n, buf);
    struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
    REPORT("writev", writev(s[1], iov, 2));
    char x[2], y[8];
    struct iovec riov[2] = {{x, 2}, {y, 8}};
    n = readv(s[0], riov, 2);
    say("readv %d %.2s %.*s", n, x, n - 2, y);
    say("SO_TYPE %d SO_ERROR %d SO_DOMAIN %d SO_ACCEPTCONN %d", opt(s[0], SO_TYPE), opt(s[0], SO_ERROR),
        opt(s[0], SO_DOMAIN), opt(s[0], SO_ACCEPTCONN));
    say("SO_PROTOCOL %d bogus %d", opt(s[0], SO_PROTOCOL), opt(s[0], 12345));

    int d[2];
    REPORT("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, d));
    say("SO_TYPE %d", opt(d[0], SO_TYPE));
    send(d[0], "one", 3, 0);
    send(d[0], "three", 5, 0);
    send(d[0], "", 0, 0);
    n = recv(d[1], buf, 2, 0);
    say("dgram short %d %.*s", n, n, buf);
    n = recv(d[1], buf, 2, MSG_TRUNC);
    say("dgram MSG_TRUNC %d", n);
    n = recv(d[1], buf, sizeof buf, 0);
    say("dgram empty message %d", n);
    REPORT("dgram drained", recv(d[1], buf, sizeof buf, 0));
    struct msghdr m = {0};
    struct iovec one = {buf, 3};
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    send(d[1], "abcdef", 6, 0);
    n = recvmsg(d[0], &m, 0);
    say("recvmsg %d flags MSG_TRUNC=%s", n, YN(m.msg_flags & MSG_TRUNC));

    int q[2];
    REPORT("socketpair seqpacket", socketpair(AF_UNIX, SOCK_SEQPACKET, 0, q));
    send(q[0], "12345", 5, 0);
    send(q[0], "67", 2, 0);
    n = recv(q[1], buf, 3, 0);
    say("seqpacket %d %.*s", n, n, buf);
    n = recv(q[1], buf, sizeof buf, 0);
    say("seqpacket %d %.*s", n, n, buf);
    say("SO_TYPE %d", opt(q[0], SO_TYPE));

    REPORT("bad type", socket(AF_UNIX, 77, 0));
    REPORT("bad protocol", socket(AF_UNIX, SOCK_STREAM, 9));
    REPORT("not a socket", send(0, "x", 1, 0));
    return 0;
}
