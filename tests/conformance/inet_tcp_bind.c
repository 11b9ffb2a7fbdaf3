/* TCP port binding over loopback: ephemeral ports come from 32768-60999,
 * overlapping addresses conflict (EADDRINUSE) unless both sockets set
 * SO_REUSEADDR and the older one is not listening; listen checks again;
 * SO_REUSEPORT lets two listeners share; non-local addresses are
 * EADDRNOTAVAIL; closing frees the port. Port numbers are never printed. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static struct sockaddr_in v4(const char *ip, int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int tcp(int reuse) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (reuse) setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    return s;
}

static int port_of(int s) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    return ntohs(a.sin_port);
}

#define BIND(label, s, ip, port)                                  \
    do {                                                          \
        struct sockaddr_in a_ = v4(ip, port);                     \
        REPORT(label, bind(s, (struct sockaddr *)&a_, sizeof a_)); \
    } while (0)

int main(void) {
    int a = tcp(0);
    BIND("bind 127.0.0.1:0", a, "127.0.0.1", 0);
    int port = port_of(a);
    say("ephemeral in 32768-60999: %s", YN(port >= 32768 && port <= 60999));
    BIND("bind again", a, "127.0.0.1", 0);

    int b = tcp(0);
    BIND("same address", b, "127.0.0.1", port);
    BIND("wildcard over it", b, "0.0.0.0", port);
    BIND("other loopback address", b, "127.0.0.2", port);
    close(b);

    b = tcp(0);
    BIND("non-local address", b, "192.0.2.1", 0);
    BIND("short address", b, "127.0.0.1", 0);
    REPORT("short length", bind(b, (struct sockaddr *)&(struct sockaddr_in){.sin_family = AF_INET}, 4));
    struct sockaddr_in6 six = {.sin6_family = AF_INET6};
    REPORT("AF_INET6 address on AF_INET", bind(b, (struct sockaddr *)&six, sizeof six));
    close(b);
    close(a);

    /* SO_REUSEADDR: both must set it, and the old one must not listen. */
    a = tcp(1);
    BIND("reuse: first", a, "127.0.0.1", 0);
    port = port_of(a);
    b = tcp(0);
    BIND("second without SO_REUSEADDR", b, "127.0.0.1", port);
    close(b);
    b = tcp(1);
    BIND("second with SO_REUSEADDR", b, "127.0.0.1", port);
    REPORT("second listens", listen(b, 4));
    REPORT("first listens too", listen(a, 4));
    int c = tcp(1);
    BIND("third while one listens", c, "127.0.0.1", port);
    close(c);
    close(b);
    REPORT("first listens once the listener closed", listen(a, 4));
    int on = 0;
    socklen_t ol = sizeof on;
    getsockopt(a, SOL_SOCKET, SO_REUSEADDR, &on, &ol);
    say("SO_REUSEADDR reads %d", on);
    close(a);
    b = tcp(0);
    BIND("port is free after close", b, "127.0.0.1", port);
    close(b);

    /* SO_REUSEPORT: two listeners on one address. */
    int one = 1;
    a = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(a, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    BIND("reuseport first", a, "127.0.0.1", 0);
    port = port_of(a);
    listen(a, 1);
    b = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    BIND("reuseport second", b, "127.0.0.1", port);
    REPORT("reuseport second listens", listen(b, 1));
    c = tcp(0);
    BIND("without SO_REUSEPORT", c, "127.0.0.1", port);
    close(a);
    close(b);
    close(c);

    /* An accepted connection keeps the port. */
    a = tcp(0);
    BIND("server", a, "127.0.0.1", 0);
    port = port_of(a);
    listen(a, 1);
    c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = v4("127.0.0.1", port);
    REPORT("connect", connect(c, (struct sockaddr *)&to, sizeof to));
    int s = accept(a, NULL, NULL);
    say("accepted: %s", YN(s >= 0));
    close(a);
    b = tcp(1);
    BIND("rebind while a connection holds the port", b, "127.0.0.1", port);
    close(b);
    /* listen() on an unbound socket picks a port. */
    a = tcp(0);
    REPORT("listen unbound", listen(a, 1));
    port = port_of(a);
    say("listen picked an ephemeral port: %s", YN(port >= 32768 && port <= 60999));
    return 0;
}
