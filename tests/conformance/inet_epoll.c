/* Readiness of loopback sockets through epoll and select: a listener is
 * readable once a connection is pending, a connected socket writable and
 * then readable when data arrives, EPOLLRDHUP after the peer's SHUT_WR,
 * edge-triggered entries fire once per arrival, and a UDP socket in
 * select becomes readable when a datagram lands. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>

static void show(const char *label, int ep) {
    struct epoll_event ev[4];
    int n = epoll_wait(ep, ev, 4, 0);
    say("%s: n=%d events=%#x", label, n, n > 0 ? ev[0].events : 0);
}

int main(void) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(l, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    listen(l, 4);
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = l};
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &e);
    show("listener idle", ep);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    connect(c, (struct sockaddr *)&a, sizeof a);
    struct epoll_event got;
    say("listener wakes: %d", epoll_wait(ep, &got, 1, 1000));
    int s = accept(l, NULL, NULL);
    show("listener after accept", ep);
    close(ep);

    ep = epoll_create1(0);
    e = (struct epoll_event){.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.fd = s};
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
    show("connected", ep);
    (void)!write(c, "ping", 4);
    epoll_wait(ep, &got, 1, 1000);
    show("data arrived", ep);
    char b[8];
    (void)!read(s, b, sizeof b);
    shutdown(c, SHUT_WR);
    epoll_wait(ep, &got, 1, 1000);
    show("peer SHUT_WR", ep);
    close(ep);

    /* Edge-triggered: one report per arrival. */
    int c2 = socket(AF_INET, SOCK_STREAM, 0);
    connect(c2, (struct sockaddr *)&a, sizeof a);
    int s2 = accept(l, NULL, NULL);
    ep = epoll_create1(0);
    e = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.fd = s2};
    epoll_ctl(ep, EPOLL_CTL_ADD, s2, &e);
    show("ET idle", ep);
    (void)!write(c2, "x", 1);
    say("ET first: %d", epoll_wait(ep, &got, 1, 1000));
    show("ET again without new data", ep);
    (void)!write(c2, "y", 1);
    say("ET after more data: %d", epoll_wait(ep, &got, 1, 1000));

    /* select on UDP. */
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in u = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(r, (struct sockaddr *)&u, sizeof u);
    al = sizeof u;
    getsockname(r, (struct sockaddr *)&u, &al);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(r, &rs);
    struct timeval tv = {0, 0};
    say("select idle: %d", select(r + 1, &rs, NULL, NULL, &tv));
    sendto(socket(AF_INET, SOCK_DGRAM, 0), "d", 1, 0, (struct sockaddr *)&u, sizeof u);
    FD_ZERO(&rs);
    FD_SET(r, &rs);
    tv = (struct timeval){1, 0};
    say("select after a datagram: %d readable=%s", select(r + 1, &rs, NULL, NULL, &tv), YN(FD_ISSET(r, &rs)));
    return 0;
}
