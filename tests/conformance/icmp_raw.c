/* Raw ICMP sockets (ping as root): an echo request to 127.0.0.1; the raw
 * socket sees the request looped back and then the kernel's reply, each
 * with its IPv4 header. Without CAP_NET_RAW: EPERM. Ping (datagram)
 * sockets follow net.ipv4.ping_group_range, "1 0" by default: EACCES. */
#define _GNU_SOURCE
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>

static unsigned short csum(const void *p, int len)
{
    const unsigned char *b = p;
    unsigned long s = 0;
    for (int i = 0; i + 1 < len; i += 2)
        s += (b[i] << 8) | b[i + 1];
    if (len & 1)
        s += b[len - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return htons(~s & 0xffff);
}

int main(void)
{
    REPORT("ping socket (ping_group_range 1 0)", socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    say("raw ICMP socket: %s", fd >= 0 ? "ok" : errname(errno));
    if (fd < 0)
        return 0;
    unsigned char msg[8 + 16] = {ICMP_ECHO, 0};
    msg[4] = 0x12, msg[5] = 0x34, msg[7] = 1;
    memcpy(msg + 8, "moat ping data!", 16);
    unsigned short c = csum(msg, sizeof msg);
    memcpy(msg + 2, &c, 2);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    REPORT("sendto 127.0.0.1", sendto(fd, msg, sizeof msg, 0, (struct sockaddr *)&to, sizeof to));
    for (int i = 0; i < 2; i++) {
        unsigned char buf[256];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            say("recv %d: %s", i, errname(errno));
            continue;
        }
        struct iphdr *ip = (struct iphdr *)buf;
        unsigned char *icmp = buf + ip->ihl * 4;
        char src[16], dst[16], sender[16];
        inet_ntop(AF_INET, &ip->saddr, src, sizeof src);
        inet_ntop(AF_INET, &ip->daddr, dst, sizeof dst);
        inet_ntop(AF_INET, &from.sin_addr, sender, sizeof sender);
        say("recv %d: %zd bytes, version %d ihl %d proto %d ttl %d tot_len %d %s -> %s (from %s)", i, n, ip->version,
            ip->ihl, ip->protocol, ip->ttl, ntohs(ip->tot_len), src, dst, sender);
        say("  icmp type %d code %d id %02x%02x seq %d, data %s, checksum %s", icmp[0], icmp[1], icmp[4], icmp[5],
            icmp[7], memcmp(icmp + 8, msg + 8, 16) ? "differs" : "same",
            csum(icmp, n - ip->ihl * 4) == 0 ? "good" : "bad");
    }
    return 0;
}
