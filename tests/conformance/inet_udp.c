/* UDP over loopback: datagram boundaries, MSG_TRUNC (flag and length),
 * MSG_PEEK, FIONREAD (the next datagram), the sender's address, sendto
 * without a destination (EDESTADDRREQ), connected UDP (send/recv,
 * getpeername, filtering of other senders, AF_UNSPEC to dissolve), a
 * datagram to a port nobody holds (dropped; a connected sender hears
 * ECONNREFUSED once), EMSGSIZE, SO_BROADCAST read back, shutdown. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static struct sockaddr_in lo(int port) {
    return (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
}

static int port_of(int s) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    return ntohs(a.sin_port);
}

static int bound_udp(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = lo(0);
    bind(s, (struct sockaddr *)&a, sizeof a);
    return s;
}

static void wait_in(int s) {
    struct pollfd p = {s, POLLIN, 0};
    poll(&p, 1, 1000);
}

int main(void) {
    int r = bound_udp(), rport = port_of(r);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = lo(rport);
    REPORT("send without destination", send(s, "x", 1, 0));
    REPORT("sendto one", sendto(s, "one", 3, 0, (struct sockaddr *)&to, sizeof to));
    REPORT("sendto three", sendto(s, "three", 5, 0, (struct sockaddr *)&to, sizeof to));
    REPORT("sendto empty", sendto(s, "", 0, 0, (struct sockaddr *)&to, sizeof to));
    say("sender got a port: %s", YN(port_of(s) != 0));
    wait_in(r);
    int n = 0;
    ioctl(r, FIONREAD, &n);
    say("FIONREAD %d", n);
    char b[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    n = recvfrom(r, b, 2, MSG_PEEK, (struct sockaddr *)&from, &fl);
    say("peek 2: %d %.*s", n, n, b);
    struct iovec iov = {b, 2};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    n = recvmsg(r, &m, 0);
    char ip[32];
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
    say("recvmsg 2: %d %.*s trunc=%s from %s namelen %d sender port matches %s", n, n, b, YN(m.msg_flags & MSG_TRUNC),
        ip, (int)m.msg_namelen, YN(ntohs(from.sin_port) == port_of(s)));
    n = recv(r, b, 3, MSG_TRUNC);
    say("MSG_TRUNC: %d %.3s", n, b);
    n = recv(r, b, sizeof b, 0);
    say("empty datagram: %d", n);
    REPORT("nothing left", recv(r, b, sizeof b, MSG_DONTWAIT));

    /* Connected: default destination, and only the peer gets through. */
    REPORT("connect", connect(s, (struct sockaddr *)&to, sizeof to));
    struct sockaddr_in pa;
    socklen_t pal = sizeof pa;
    getpeername(s, (struct sockaddr *)&pa, &pal);
    say("getpeername is the receiver: %s", YN(ntohs(pa.sin_port) == rport));
    REPORT("send connected", send(s, "hi", 2, 0));
    wait_in(r);
    n = recv(r, b, sizeof b, 0);
    say("got %d %.*s", n, n, b);
    struct sockaddr_in sa = lo(port_of(s));
    connect(r, (struct sockaddr *)&sa, sizeof sa);
    int other = bound_udp();
    REPORT("stranger sends to a connected socket", sendto(other, "no", 2, 0, (struct sockaddr *)&to, sizeof to));
    REPORT("peer sends", send(s, "yes", 3, 0));
    wait_in(r);
    n = recv(r, b, sizeof b, 0);
    say("connected receiver got %d %.*s", n, n, b);
    REPORT("and nothing else", recv(r, b, sizeof b, MSG_DONTWAIT));
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    REPORT("dissolve", connect(r, &unspec, sizeof unspec));
    REPORT("getpeername after dissolve", getpeername(r, (struct sockaddr *)&pa, &pal));
    /* Linux unhashes a socket whose port was picked for it. */
    say("port after dissolve is 0: %s", YN(port_of(r) == 0));
    close(r);
    r = bound_udp();
    to = lo(port_of(r));

    /* A port nobody holds. */
    int t = bound_udp(), dead = port_of(t);
    close(t);
    struct sockaddr_in nowhere = lo(dead);
    REPORT("unconnected sendto a closed port", sendto(other, "x", 1, 0, (struct sockaddr *)&nowhere, sizeof nowhere));
    REPORT("unconnected socket has no error", recv(other, b, sizeof b, MSG_DONTWAIT));
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    connect(c, (struct sockaddr *)&nowhere, sizeof nowhere);
    REPORT("connected send to a closed port", send(c, "x", 1, 0));
    struct pollfd p = {c, POLLIN | POLLOUT, 0};
    poll(&p, 1, 1000);
    say("poll: POLLERR %s POLLOUT %s", YN(p.revents & POLLERR), YN(p.revents & POLLOUT));
    REPORT("next send", send(c, "x", 1, 0));
    REPORT("and the one after", send(c, "x", 1, 0));
    REPORT("recv reports it too", recv(c, b, sizeof b, MSG_DONTWAIT));
    int e = -1;
    socklen_t el = sizeof e;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el);
    say("SO_ERROR now %s", errname(e));

    static char big[70000];
    REPORT("65507 bytes", sendto(other, big, 65507, 0, (struct sockaddr *)&to, sizeof to));
    REPORT("65508 bytes", sendto(other, big, 65508, 0, (struct sockaddr *)&to, sizeof to));
    wait_in(r);
    n = recv(r, big, sizeof big, 0);
    say("received %d", n);
    int v = -1;
    socklen_t vl = sizeof v;
    getsockopt(r, SOL_SOCKET, SO_TYPE, &v, &vl);
    say("SO_TYPE %d", v);
    getsockopt(r, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
    say("SO_PROTOCOL %d", v);
    getsockopt(r, SOL_SOCKET, SO_RCVBUF, &v, &vl);
    v = 1;
    setsockopt(r, SOL_SOCKET, SO_BROADCAST, &v, sizeof v);
    v = -1;
    getsockopt(r, SOL_SOCKET, SO_BROADCAST, &v, &vl);
    say("SO_BROADCAST %d", v);
    REPORT("listen on UDP", listen(r, 1));
    REPORT("accept on UDP", accept(r, NULL, NULL));
    REPORT("shutdown unconnected UDP", shutdown(other, SHUT_RD));
    REPORT("recv after SHUT_RD", recv(other, b, sizeof b, MSG_DONTWAIT));
    return 0;
}
