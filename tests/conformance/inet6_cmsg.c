/* RFC 3542 ancillary data on loopback UDP over IPv6: IPV6_RECVHOPLIMIT
 * and IPV6_RECVTCLASS deliver IPV6_HOPLIMIT and IPV6_TCLASS (the sender's
 * IPV6_UNICAST_HOPS / IPV6_TCLASS, or sendmsg's own control messages);
 * put_cmsg's truncation rules (no room for a header: nothing and
 * MSG_CTRUNC; a cut body: the header says the cut length); bad control
 * messages on send; IPv4 senders carry no IPv6 header. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int srv, cli;
static struct sockaddr_in6 addr;

static void show(const char *label, int ctl) {
    char data[16];
    union {
        char buf[256];
        struct cmsghdr align;
    } u;
    memset(u.buf, 0xee, sizeof u.buf);
    struct iovec iov = {data, sizeof data};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl >= 0 ? u.buf : NULL,
                       .msg_controllen = ctl >= 0 ? ctl : 0};
    int n = recvmsg(srv, &m, MSG_DONTWAIT);
    if (n < 0) {
        say("%s: %s", label, errname(errno));
        return;
    }
    say("%s: %d bytes, controllen %d, ctrunc %d", label, n, (int)m.msg_controllen, !!(m.msg_flags & MSG_CTRUNC));
    size_t off = 0;
    while (off + sizeof(struct cmsghdr) <= m.msg_controllen) {
        struct cmsghdr *c = (struct cmsghdr *)(u.buf + off);
        int v = -1;
        size_t body = c->cmsg_len - CMSG_LEN(0);
        if (body >= sizeof v) memcpy(&v, CMSG_DATA(c), sizeof v);
        say("  cmsg len %d level %d type %d value %d", (int)c->cmsg_len, c->cmsg_level, c->cmsg_type, v);
        if (c->cmsg_len < sizeof(struct cmsghdr)) break;
        off += CMSG_ALIGN(c->cmsg_len);
    }
}

static int sendctl(int level1, int type1, int v1, int len1, int level2, int type2, int v2) {
    union {
        char buf[64];
        struct cmsghdr align;
    } u;
    memset(u.buf, 0, sizeof u.buf);
    struct cmsghdr *c = (struct cmsghdr *)u.buf;
    c->cmsg_len = CMSG_LEN(len1);
    c->cmsg_level = level1;
    c->cmsg_type = type1;
    memcpy(CMSG_DATA(c), &v1, sizeof v1);
    size_t total = CMSG_SPACE(len1);
    if (level2 >= 0) {
        c = (struct cmsghdr *)(u.buf + total);
        c->cmsg_len = CMSG_LEN(sizeof(int));
        c->cmsg_level = level2;
        c->cmsg_type = type2;
        memcpy(CMSG_DATA(c), &v2, sizeof v2);
        total += CMSG_SPACE(sizeof(int));
    }
    struct iovec iov = {"data", 4};
    struct msghdr m = {.msg_name = &addr, .msg_namelen = sizeof addr, .msg_iov = &iov, .msg_iovlen = 1,
                       .msg_control = u.buf, .msg_controllen = total};
    return sendmsg(cli, &m, 0);
}

static void send_plain(void) {
    (void)!sendto(cli, "data", 4, 0, (struct sockaddr *)&addr, sizeof addr);
}

static void setint(int s, int name, int v) {
    int r = setsockopt(s, IPPROTO_IPV6, name, &v, sizeof v);
    int got = -99;
    socklen_t l = sizeof got;
    getsockopt(s, IPPROTO_IPV6, name, &got, &l);
    say("set %d to %d: %s, reads %d", name, v, errname(r < 0 ? errno : 0), got);
}

int main(void) {
    srv = socket(AF_INET6, SOCK_DGRAM, 0);
    addr = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bind(srv, (struct sockaddr *)&addr, sizeof addr);
    socklen_t al = sizeof addr;
    getsockname(srv, (struct sockaddr *)&addr, &al);
    cli = socket(AF_INET6, SOCK_DGRAM, 0);

    int v = -99;
    socklen_t l = sizeof v;
    getsockopt(cli, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &l);
    say("default unicast hops %d", v);
    setint(cli, IPV6_UNICAST_HOPS, 300);
    setint(cli, IPV6_TCLASS, -1);
    setint(cli, IPV6_TCLASS, 256);
    setint(srv, IPV6_RECVHOPLIMIT, 5);
    int v4 = socket(AF_INET, SOCK_DGRAM, 0);
    v = 1;
    REPORT("IPV6_RECVHOPLIMIT on AF_INET", setsockopt(v4, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &v, sizeof v));

    send_plain();
    show("hoplimit, room", 256);
    send_plain();
    show("hoplimit, CMSG_SPACE", CMSG_SPACE(sizeof(int)));
    send_plain();
    show("hoplimit, no control", -1);
    send_plain();
    show("hoplimit, 0", 0);
    send_plain();
    show("hoplimit, 1", 1);
    send_plain();
    show("hoplimit, CMSG_LEN(0)-1", CMSG_LEN(0) - 1);
    send_plain();
    show("hoplimit, CMSG_LEN(0)", CMSG_LEN(0));
    send_plain();
    show("hoplimit, CMSG_LEN(4)-1", CMSG_LEN(sizeof(int)) - 1);
    send_plain();
    show("hoplimit, CMSG_LEN(4)", CMSG_LEN(sizeof(int)));

    setint(cli, IPV6_UNICAST_HOPS, 7);
    setint(cli, IPV6_TCLASS, 0x28);
    setint(srv, IPV6_RECVTCLASS, 1);
    send_plain();
    show("both, room", 256);
    send_plain();
    show("both, 2 x CMSG_SPACE", 2 * CMSG_SPACE(sizeof(int)));
    send_plain();
    show("both, second header cut", CMSG_SPACE(sizeof(int)) + 4);
    send_plain();
    show("both, second body cut", CMSG_SPACE(sizeof(int)) + CMSG_LEN(sizeof(int)) - 1);
    send_plain();
    show("both, second unpadded", CMSG_SPACE(sizeof(int)) + CMSG_LEN(sizeof(int)));

    say("sendmsg hoplimit 2 tclass -1: %d", sendctl(IPPROTO_IPV6, IPV6_HOPLIMIT, 2, 4, IPPROTO_IPV6, IPV6_TCLASS, -1));
    show("per-packet", 256);
    say("sendmsg tclass 5 hoplimit -1: %d", sendctl(IPPROTO_IPV6, IPV6_TCLASS, 5, 4, IPPROTO_IPV6, IPV6_HOPLIMIT, -1));
    show("per-packet defaults", 256);
    int r = sendctl(IPPROTO_IPV6, IPV6_TCLASS, 5, 5, IPPROTO_IPV6, IPV6_HOPLIMIT, 2);
    say("sendmsg odd size: %d %s", r, errname(r < 0 ? errno : 0));
    r = sendctl(IPPROTO_IPV6, IPV6_HOPLIMIT, 256, 4, -1, 0, 0);
    say("sendmsg hoplimit 256: %d %s", r, errname(r < 0 ? errno : 0));
    r = sendctl(SOL_SOCKET, 0x4242, 1, 4, -1, 0, 0);
    say("sendmsg unknown SOL_SOCKET type: %d %s", r, errname(r < 0 ? errno : 0));
    r = sendctl(IPPROTO_TCP, 1, 1, 4, -1, 0, 0);
    say("sendmsg other level: %d %s", r, errname(r < 0 ? errno : 0));
    show("other level skipped", 256);

    /* A v4 sender to a dual-stack socket: no IPv6 header, no cmsgs. */
    int dual = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    bind(dual, (struct sockaddr *)&any, sizeof any);
    al = sizeof any;
    getsockname(dual, (struct sockaddr *)&any, &al);
    v = 1;
    setsockopt(dual, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &v, sizeof v);
    struct sockaddr_in to4 = {.sin_family = AF_INET, .sin_port = any.sin6_port, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    sendto(v4, "four", 4, 0, (struct sockaddr *)&to4, sizeof to4);
    srv = dual;
    show("from IPv4", 256);
    return 0;
}
