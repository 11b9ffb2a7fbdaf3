/* sendmmsg/recvmmsg on UDP over loopback and on AF_UNIX datagram and
 * stream sockets: counts, per-message lengths (msg_len), truncation
 * flags, sender addresses, MSG_WAITFORONE, a short vlen, and errors
 * before the first message. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

static void batch(const char *label, int tx, int rx, struct sockaddr *to, socklen_t tolen) {
    static const char *words[] = {"alpha", "be", "gamma-ray", ""};
    struct mmsghdr out[4];
    struct iovec oiov[4];
    memset(out, 0, sizeof out);
    for (int i = 0; i < 4; i++) {
        oiov[i] = (struct iovec){(void *)words[i], strlen(words[i])};
        out[i].msg_hdr.msg_iov = &oiov[i];
        out[i].msg_hdr.msg_iovlen = 1;
        out[i].msg_hdr.msg_name = to;
        out[i].msg_hdr.msg_namelen = tolen;
    }
    int n = sendmmsg(tx, out, 4, 0);
    say("%s sendmmsg: %d lens %u %u %u %u", label, n, out[0].msg_len, out[1].msg_len, out[2].msg_len, out[3].msg_len);

    char bufs[5][8];
    struct mmsghdr in[5];
    struct iovec iiov[5];
    struct sockaddr_storage from[5];
    memset(in, 0, sizeof in);
    for (int i = 0; i < 5; i++) {
        iiov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
        in[i].msg_hdr.msg_iov = &iiov[i];
        in[i].msg_hdr.msg_iovlen = 1;
        in[i].msg_hdr.msg_name = &from[i];
        in[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    n = recvmmsg(rx, in, 5, MSG_WAITFORONE, NULL);
    say("%s recvmmsg: %d", label, n);
    for (int i = 0; i < n; i++)
        say("  [%d] len %u %.*s trunc=%s family %d", i, in[i].msg_len, (int)in[i].msg_len, bufs[i],
            YN(in[i].msg_hdr.msg_flags & MSG_TRUNC), in[i].msg_hdr.msg_namelen ? from[i].ss_family : -1);
}

int main(void) {
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(r, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(r, (struct sockaddr *)&a, &al);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    batch("udp", s, r, (struct sockaddr *)&a, sizeof a);

    int u[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, u);
    batch("unix dgram", u[0], u[1], NULL, 0);
    socketpair(AF_UNIX, SOCK_STREAM, 0, u);
    batch("unix stream", u[0], u[1], NULL, 0);

    struct mmsghdr m = {0};
    REPORT("sendmmsg on a non-socket", sendmmsg(0 + 100, &m, 1, 0));
    REPORT("recvmmsg with nothing, MSG_DONTWAIT", recvmmsg(r, &m, 1, MSG_DONTWAIT, NULL));
    REPORT("sendmmsg vlen 0", sendmmsg(s, &m, 0, 0));
    struct timespec bad = {0, 2000000000};
    REPORT("recvmmsg bad timeout", recvmmsg(r, &m, 1, 0, &bad));
    return 0;
}
