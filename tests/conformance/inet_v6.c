/* AF_INET6 over loopback: TCP and UDP on ::1, an AF_INET6 listener on ::
 * that takes IPv4 connections as v4-mapped addresses, IPV6_V6ONLY (no
 * IPv4, no mapped binds, and no conflict with an IPv4 wildcard), the
 * addresses each side reports, and sendto with an AF_INET address on an
 * AF_INET6 UDP socket. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int port6(int s) {
    struct sockaddr_in6 a;
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    return ntohs(a.sin6_port);
}

static struct sockaddr_in6 six(const char *ip, int port) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static void show(const char *label, int s, int peer) {
    struct sockaddr_storage st;
    socklen_t l = sizeof st;
    int r = peer ? getpeername(s, (struct sockaddr *)&st, &l) : getsockname(s, (struct sockaddr *)&st, &l);
    char ip[64] = "-";
    if (st.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&st)->sin6_addr, ip, sizeof ip);
    else if (st.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&st)->sin_addr, ip, sizeof ip);
    say("%s: ret=%d family=%d len=%d ip=%s", label, r, st.ss_family, (int)l, ip);
}

int main(void) {
    /* TCP on ::1. */
    int l = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 a = six("::1", 0);
    REPORT("bind ::1", bind(l, (struct sockaddr *)&a, sizeof a));
    listen(l, 2);
    a.sin6_port = htons(port6(l));
    int c = socket(AF_INET6, SOCK_STREAM, 0);
    REPORT("connect ::1", connect(c, (struct sockaddr *)&a, sizeof a));
    int s = accept(l, NULL, NULL);
    show("client name", c, 0);
    show("client peer", c, 1);
    show("server peer", s, 1);
    (void)!write(c, "six", 3);
    char b[16];
    int n = read(s, b, sizeof b);
    say("read %d %.*s", n, n, b);
    close(c);
    close(s);
    close(l);

    /* A dual-stack listener on :: takes IPv4 as v4-mapped. */
    l = socket(AF_INET6, SOCK_STREAM, 0);
    int v = -1;
    socklen_t vl = sizeof v;
    getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vl);
    say("IPV6_V6ONLY default %d", v);
    a = six("::", 0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    int port = port6(l);
    listen(l, 2);
    int c4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    REPORT("IPv4 connect to a :: listener", connect(c4, (struct sockaddr *)&a4, sizeof a4));
    s = accept(l, NULL, NULL);
    show("server name (mapped)", s, 0);
    show("server peer (mapped)", s, 1);
    int b4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    REPORT("IPv4 wildcard on the same port", bind(b4, (struct sockaddr *)&any4, sizeof any4));
    close(b4);
    close(c4);
    close(s);
    close(l);

    /* IPV6_V6ONLY. */
    l = socket(AF_INET6, SOCK_STREAM, 0);
    v = 1;
    REPORT("set IPV6_V6ONLY", setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v));
    struct sockaddr_in6 m = six("::ffff:127.0.0.1", 0);
    REPORT("v6only bind to a mapped address", bind(l, (struct sockaddr *)&m, sizeof m));
    a = six("::", 0);
    bind(l, (struct sockaddr *)&a, sizeof a);
    port = port6(l);
    listen(l, 2);
    REPORT("IPV6_V6ONLY after bind", setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v));
    b4 = socket(AF_INET, SOCK_STREAM, 0);
    any4.sin_port = htons(port);
    REPORT("IPv4 wildcard beside a v6only wildcard", bind(b4, (struct sockaddr *)&any4, sizeof any4));
    close(b4);
    c4 = socket(AF_INET, SOCK_STREAM, 0);
    a4.sin_port = htons(port);
    REPORT("IPv4 connect to a v6only listener", connect(c4, (struct sockaddr *)&a4, sizeof a4));
    close(c4);
    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    m = six("::ffff:127.0.0.1", port);
    REPORT("mapped connect to a v6only listener", connect(c6, (struct sockaddr *)&m, sizeof m));
    close(c6);
    close(l);

    /* UDP: ::1, and an AF_INET destination from an AF_INET6 socket. */
    int u = socket(AF_INET6, SOCK_DGRAM, 0);
    a = six("::", 0);
    bind(u, (struct sockaddr *)&a, sizeof a);
    port = port6(u);
    int t = socket(AF_INET6, SOCK_DGRAM, 0);
    a = six("::1", port);
    REPORT("UDP sendto ::1", sendto(t, "v6", 2, 0, (struct sockaddr *)&a, sizeof a));
    a4.sin_port = htons(port);
    REPORT("UDP sendto an AF_INET address", sendto(t, "v4", 2, 0, (struct sockaddr *)&a4, sizeof a4));
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in6 from;
        socklen_t fl = sizeof from;
        n = recvfrom(u, b, sizeof b, 0, (struct sockaddr *)&from, &fl);
        char ip[64];
        inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
        say("got %d %.*s from %s len %d", n, n, b, ip, (int)fl);
    }
    int u4 = socket(AF_INET, SOCK_DGRAM, 0);
    REPORT("AF_INET socket sendto ::1", sendto(u4, "x", 1, 0, (struct sockaddr *)&a, sizeof a));
    REPORT("short sockaddr_in6", bind(t, (struct sockaddr *)&a, 20));
    return 0;
}
