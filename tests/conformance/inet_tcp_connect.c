/* TCP connect over loopback: refusal without a listener (blocking:
 * ECONNREFUSED; non-blocking: EINPROGRESS, then POLLERR and SO_ERROR),
 * a non-blocking connect that succeeds (EINPROGRESS, writable, accept,
 * the next connect 0 then EISCONN), accept4
 * flags, the listener's readiness, the addresses each side reports, and
 * the socket options of a connection. */
#include "conf.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

static struct sockaddr_in v4(const char *ip, int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int port_of(int s) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    return ntohs(a.sin_port);
}

static void addr(const char *label, int s, int peer) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    errno = 0;
    int r = peer ? getpeername(s, (struct sockaddr *)&a, &l) : getsockname(s, (struct sockaddr *)&a, &l);
    char ip[32] = "-";
    if (r == 0) inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    say("%s: ret=%d errno=%s family=%d len=%d ip=%s port0=%s", label, r, errname(r ? errno : 0), r ? -1 : a.sin_family,
        (int)l, ip, YN(r == 0 && a.sin_port == 0));
}

static void showpoll(const char *label, int fd, short events) {
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, 0);
    say("%s: n=%d revents=%#x", label, n, p.revents);
}

static int intopt(int s, int level, int name) {
    int v = -1;
    socklen_t l = sizeof v;
    if (getsockopt(s, level, name, &v, &l) < 0) return -errno;
    return v;
}

int main(void) {
    /* A port nobody listens on: take one, then free it. */
    int t = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = v4("127.0.0.1", 0);
    bind(t, (struct sockaddr *)&any, sizeof any);
    int dead = port_of(t);
    close(t);
    struct sockaddr_in to = v4("127.0.0.1", dead);

    int c = socket(AF_INET, SOCK_STREAM, 0);
    showpoll("fresh socket", c, POLLIN | POLLOUT);
    addr("fresh getsockname", c, 0);
    addr("fresh getpeername", c, 1);
    REPORT("connect to a closed port", connect(c, (struct sockaddr *)&to, sizeof to));
    REPORT("send on unconnected", send(c, "x", 1, MSG_NOSIGNAL));
    char b[64];
    REPORT("recv on unconnected", recv(c, b, sizeof b, 0));
    REPORT("shutdown unconnected", shutdown(c, SHUT_WR));
    close(c);

    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REPORT("non-blocking connect to a closed port", connect(c, (struct sockaddr *)&to, sizeof to));
    struct pollfd p = {c, POLLOUT, 0};
    poll(&p, 1, 1000);
    say("poll: POLLOUT %s POLLERR %s POLLHUP %s", YN(p.revents & POLLOUT), YN(p.revents & POLLERR),
        YN(p.revents & POLLHUP));
    say("SO_ERROR: %s", errname(intopt(c, SOL_SOCKET, SO_ERROR)));
    say("SO_ERROR again: %s", errname(intopt(c, SOL_SOCKET, SO_ERROR)));
    close(c);


    int l = socket(AF_INET, SOCK_STREAM, 0);
    REPORT("accept before listen", accept(l, NULL, NULL));
    bind(l, (struct sockaddr *)&any, sizeof any);
    int port = port_of(l);
    REPORT("listen", listen(l, 4));
    say("SO_ACCEPTCONN: %d", intopt(l, SOL_SOCKET, SO_ACCEPTCONN));
    showpoll("listener idle", l, POLLIN | POLLOUT);
    fcntl(l, F_SETFL, O_NONBLOCK);
    REPORT("accept with nothing pending", accept(l, NULL, NULL));
    REPORT("connect on a listener", connect(l, (struct sockaddr *)&to, sizeof to));

    to = v4("127.0.0.1", port);
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REPORT("non-blocking connect", connect(c, (struct sockaddr *)&to, sizeof to));
    p = (struct pollfd){c, POLLOUT, 0};
    poll(&p, 1, 1000);
    say("connecting socket: POLLOUT %s POLLERR %s", YN(p.revents & POLLOUT), YN(p.revents & POLLERR));
    say("SO_ERROR: %s", errname(intopt(c, SOL_SOCKET, SO_ERROR)));
    p = (struct pollfd){l, POLLIN, 0};
    poll(&p, 1, 1000);
    say("listener: POLLIN %s", YN(p.revents & POLLIN));
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    int s = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
    say("accept4: ok=%s len=%d family=%d cloexec=%s nonblock=%s", YN(s >= 0), (int)pl, peer.sin_family,
        YN(fcntl(s, F_GETFD) & FD_CLOEXEC), YN(fcntl(s, F_GETFL) & O_NONBLOCK));
    say("accepted peer is the client: %s", YN(ntohs(peer.sin_port) == port_of(c)));
    REPORT("connect again", connect(c, (struct sockaddr *)&to, sizeof to));
    REPORT("and again", connect(c, (struct sockaddr *)&to, sizeof to));
    addr("client getsockname", c, 0);
    addr("client getpeername", c, 1);
    addr("server getsockname", s, 0);
    say("server port is the listener's: %s", YN(port_of(s) == port));
    REPORT("accept4 bad flags", accept4(l, NULL, NULL, 0x1));

    say("SO_TYPE %d SO_DOMAIN %d SO_PROTOCOL %d SO_ACCEPTCONN %d", intopt(s, SOL_SOCKET, SO_TYPE),
        intopt(s, SOL_SOCKET, SO_DOMAIN), intopt(s, SOL_SOCKET, SO_PROTOCOL), intopt(s, SOL_SOCKET, SO_ACCEPTCONN));
    int v = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
    setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
    v = 30;
    REPORT("TCP_KEEPIDLE 30", setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v));
    v = 0;
    REPORT("TCP_KEEPIDLE 0", setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof v));
    v = 5;
    setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof v);
    setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof v);
    say("TCP_NODELAY %d SO_KEEPALIVE %d KEEPIDLE %d KEEPINTVL %d KEEPCNT %d", intopt(c, IPPROTO_TCP, TCP_NODELAY),
        intopt(c, SOL_SOCKET, SO_KEEPALIVE), intopt(c, IPPROTO_TCP, TCP_KEEPIDLE), intopt(c, IPPROTO_TCP, TCP_KEEPINTVL),
        intopt(c, IPPROTO_TCP, TCP_KEEPCNT));
    say("fresh defaults: KEEPIDLE %d KEEPINTVL %d KEEPCNT %d CORK %d", intopt(s, IPPROTO_TCP, TCP_KEEPIDLE),
        intopt(s, IPPROTO_TCP, TCP_KEEPINTVL), intopt(s, IPPROTO_TCP, TCP_KEEPCNT), intopt(s, IPPROTO_TCP, TCP_CORK));
    v = 1;
    setsockopt(c, IPPROTO_TCP, TCP_CORK, &v, sizeof v);
    say("TCP_CORK %d", intopt(c, IPPROTO_TCP, TCP_CORK));
    struct linger lg = {1, 5};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    lg = (struct linger){0, 0};
    socklen_t ll = sizeof lg;
    getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &ll);
    say("SO_LINGER %d %d len %d", lg.l_onoff, lg.l_linger, (int)ll);
    v = 10000;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    say("SO_SNDBUF set 10000 reads %d", intopt(c, SOL_SOCKET, SO_SNDBUF));
    struct tcp_info ti;
    socklen_t tl = sizeof ti;
    getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    say("TCP_INFO state: client %d", ti.tcpi_state);
    getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &tl);
    say("TCP_INFO state: listener %d len %d", ti.tcpi_state, (int)tl);
    REPORT("unknown level", setsockopt(c, 12345, 1, &v, sizeof v));
    return 0;
}
