/* UDP-Lite (IPPROTO_UDPLITE) over loopback: its own port space beside
 * UDP's, SO_PROTOCOL, the checksum coverage options (clamped to 8..65535,
 * ENOPROTOOPT on a UDP socket), datagrams both ways over IPv4 and IPv6,
 * and a receiver's minimum coverage dropping partially covered ones. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define SOL_UDPLITE 136
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11

static int getint(int s, int level, int name) {
    int v = -99;
    socklen_t l = sizeof v;
    if (getsockopt(s, level, name, &v, &l) < 0) return -errno;
    return v;
}

static void setcov(int s, int name, int v) {
    int r = setsockopt(s, SOL_UDPLITE, name, &v, sizeof v);
    say("set %s %d: %d %s -> %d", name == UDPLITE_SEND_CSCOV ? "send" : "recv", v, r, errname(r < 0 ? errno : 0),
        getint(s, SOL_UDPLITE, name));
}

static int readable(int s) {
    struct pollfd p = {s, POLLIN, 0};
    return poll(&p, 1, 200);
}

int main(void) {
    int lite = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    say("socket %s", lite >= 0 ? "ok" : errname(errno));
    say("SO_PROTOCOL %d SO_TYPE %d", getint(lite, SOL_SOCKET, SO_PROTOCOL), getint(lite, SOL_SOCKET, SO_TYPE));
    say("send cscov %d recv cscov %d", getint(lite, SOL_UDPLITE, UDPLITE_SEND_CSCOV),
        getint(lite, IPPROTO_UDP, UDPLITE_RECV_CSCOV));
    setcov(lite, UDPLITE_SEND_CSCOV, 3);
    setcov(lite, UDPLITE_SEND_CSCOV, 100000);
    setcov(lite, UDPLITE_SEND_CSCOV, 0);
    setcov(lite, UDPLITE_RECV_CSCOV, 20);
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    int v = 20;
    REPORT("cscov on UDP", setsockopt(udp, SOL_UDPLITE, UDPLITE_SEND_CSCOV, &v, sizeof v));
    say("get cscov on UDP %s", errname(-getint(udp, SOL_UDPLITE, UDPLITE_SEND_CSCOV)));
    REPORT("stream UDPLITE", socket(AF_INET, SOCK_STREAM, IPPROTO_UDPLITE));

    /* Separate port spaces: UDP may take the port UDP-Lite holds. */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    close(lite);
    lite = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    REPORT("bind lite", bind(lite, (struct sockaddr *)&a, sizeof a));
    socklen_t al = sizeof a;
    getsockname(lite, (struct sockaddr *)&a, &al);
    REPORT("bind udp same port", bind(udp, (struct sockaddr *)&a, sizeof a));
    int lite2 = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    REPORT("bind lite same port", bind(lite2, (struct sockaddr *)&a, sizeof a));

    /* Datagrams: UDP-Lite to UDP-Lite only. */
    int c = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    REPORT("sendto", sendto(c, "hello", 5, 0, (struct sockaddr *)&a, sizeof a));
    char b[64];
    say("lite readable %d udp readable %d", readable(lite), readable(udp));
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    int n = recvfrom(lite, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
    say("recv %d %.*s from loopback %d", n, n > 0 ? n : 0, b, from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    REPORT("connect", connect(c, (struct sockaddr *)&a, sizeof a));
    REPORT("send", send(c, "again", 5, 0));
    n = recv(lite, b, 3, MSG_TRUNC);
    say("recv truncated %d", n);

    /* Coverage: the receiver wants at least 20 bytes covered. */
    setcov(lite, UDPLITE_RECV_CSCOV, 20);
    setcov(c, UDPLITE_SEND_CSCOV, 12);
    REPORT("send short coverage", send(c, "0123456789abcdef", 16, 0));
    say("readable %d", readable(lite));
    REPORT("send covering all of a small one", send(c, "abc", 3, 0));
    n = recv(lite, b, sizeof b, MSG_DONTWAIT);
    say("recv %d", n);
    setcov(c, UDPLITE_SEND_CSCOV, 24);
    REPORT("send enough coverage", send(c, "0123456789abcdef0123456789", 26, 0));
    n = recv(lite, b, sizeof b, MSG_DONTWAIT);
    say("recv %d", n);
    setcov(lite, UDPLITE_RECV_CSCOV, 0);
    REPORT("send partial to full-only", send(c, "0123456789abcdef0123456789", 26, 0));
    say("readable %d", readable(lite));
    setcov(c, UDPLITE_SEND_CSCOV, 0);
    REPORT("send full coverage", send(c, "0123456789abcdef0123456789", 26, 0));
    n = recv(lite, b, sizeof b, MSG_DONTWAIT);
    say("recv %d", n);

    /* IPv6. */
    int s6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    REPORT("bind6", bind(s6, (struct sockaddr *)&a6, sizeof a6));
    al = sizeof a6;
    getsockname(s6, (struct sockaddr *)&a6, &al);
    int c6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE);
    REPORT("sendto6", sendto(c6, "six", 3, 0, (struct sockaddr *)&a6, sizeof a6));
    n = recv(s6, b, sizeof b, 0);
    say("recv6 %d %.*s", n, n > 0 ? n : 0, b);
    say("SO_PROTOCOL6 %d", getint(s6, SOL_SOCKET, SO_PROTOCOL));
    return 0;
}
