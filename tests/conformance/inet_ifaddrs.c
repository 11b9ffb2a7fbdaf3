/* The loopback interface as applications see it: getifaddrs() (netlink
 * RTM_GETLINK and RTM_GETADDR dumps) restricted to `lo`, if_nametoindex,
 * if_indextoname, the SIOCGIF* ioctls on an AF_INET socket, SIOCGIFCONF's
 * `lo` record, and netlink protocols other than NETLINK_ROUTE. */
#include "conf.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static void ip_of(const struct sockaddr *sa, char *out, size_t n) {
    if (!sa) {
        snprintf(out, n, "-");
    } else if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, n);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, n);
    } else {
        snprintf(out, n, "family%d", sa->sa_family);
    }
}

int main(void) {
    struct ifaddrs *list;
    REPORT("getifaddrs", getifaddrs(&list));
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (strcmp(i->ifa_name, "lo") != 0) continue;
        char addr[64], mask[64];
        ip_of(i->ifa_addr, addr, sizeof addr);
        ip_of(i->ifa_netmask, mask, sizeof mask);
        int fam = i->ifa_addr ? i->ifa_addr->sa_family : -1;
        /* AF_PACKET's link entry carries the hardware address. */
        if (fam == AF_PACKET) snprintf(addr, sizeof addr, "link");
        if (fam == AF_PACKET) snprintf(mask, sizeof mask, "-");
        say("%s family=%d addr=%s mask=%s up=%s loopback=%s running=%s", i->ifa_name, fam, addr, mask,
            YN(i->ifa_flags & IFF_UP), YN(i->ifa_flags & IFF_LOOPBACK), YN(i->ifa_flags & IFF_RUNNING));
    }
    freeifaddrs(list);

    say("if_nametoindex(lo) %u", if_nametoindex("lo"));
    char name[IF_NAMESIZE] = "";
    say("if_indextoname(1) %s", if_indextoname(1, name) ? name : "NULL");
    say("if_nametoindex(nope0) %u", if_nametoindex("nope0"));

    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq r = {0};
    strcpy(r.ifr_name, "lo");
    REPORT("SIOCGIFFLAGS", ioctl(s, SIOCGIFFLAGS, &r));
    say("flags up=%s loopback=%s running=%s", YN(r.ifr_flags & IFF_UP), YN(r.ifr_flags & IFF_LOOPBACK),
        YN(r.ifr_flags & IFF_RUNNING));
    REPORT("SIOCGIFINDEX", ioctl(s, SIOCGIFINDEX, &r));
    say("index %d", r.ifr_ifindex);
    REPORT("SIOCGIFADDR", ioctl(s, SIOCGIFADDR, &r));
    char a[64];
    ip_of(&r.ifr_addr, a, sizeof a);
    say("address %s", a);
    REPORT("SIOCGIFNETMASK", ioctl(s, SIOCGIFNETMASK, &r));
    ip_of(&r.ifr_netmask, a, sizeof a);
    say("netmask %s", a);
    REPORT("SIOCGIFMTU", ioctl(s, SIOCGIFMTU, &r));
    say("mtu %d", r.ifr_mtu);
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = 1;
    REPORT("SIOCGIFNAME", ioctl(s, SIOCGIFNAME, &r));
    say("name %s", r.ifr_name);
    strcpy(r.ifr_name, "nope0");
    REPORT("SIOCGIFFLAGS unknown", ioctl(s, SIOCGIFFLAGS, &r));

    struct ifreq recs[64];
    struct ifconf conf = {.ifc_len = sizeof recs, .ifc_req = recs};
    REPORT("SIOCGIFCONF", ioctl(s, SIOCGIFCONF, &conf));
    int found = 0;
    for (int i = 0; i < conf.ifc_len / (int)sizeof(struct ifreq); i++) {
        if (strcmp(recs[i].ifr_name, "lo") != 0) continue;
        ip_of(&recs[i].ifr_addr, a, sizeof a);
        say("ifconf lo %s", a);
        found++;
    }
    say("lo records %d, record size %d", found, (int)sizeof(struct ifreq));

    REPORT("NETLINK_ROUTE", (s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)) >= 0 ? 0 : -1);
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
    REPORT("bind", bind(s, (struct sockaddr *)&nl, sizeof nl));
    socklen_t nll = sizeof nl;
    getsockname(s, (struct sockaddr *)&nl, &nll);
    say("netlink port id is the pid: %s len %d", YN(nl.nl_pid == (unsigned)getpid()), (int)nll);
    REPORT("NETLINK_KOBJECT_UEVENT", socket(AF_NETLINK, SOCK_RAW, 99));
    return 0;
}
