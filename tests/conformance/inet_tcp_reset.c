/* A loopback TCP peer that closes: the first send after a plain close
 * succeeds (the closed side answers with a reset), the reset then gives
 * EPIPE once through the pending error and EPIPE on later sends, while
 * receives read EOF; a peer closed with unread data resets at once:
 * ECONNRESET on the next receive. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

static void showpoll(const char *label, int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    say("%s: %#x", label, p.revents);
}

static int state(int s) {
    struct tcp_info ti;
    socklen_t l = sizeof ti;
    getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &l);
    return ti.tcpi_state;
}

static int soerror(int s) {
    int e = -1;
    socklen_t l = sizeof e;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l);
    return e;
}

static void pair(int *c, int *s) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(l, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(l, (struct sockaddr *)&a, &al);
    listen(l, 1);
    *c = socket(AF_INET, SOCK_STREAM, 0);
    connect(*c, (struct sockaddr *)&a, sizeof a);
    *s = accept(l, NULL, NULL);
    close(l);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    int c, s;
    char b[16];
    pair(&c, &s);
    close(c);
    usleep(50000);
    showpoll("after peer close", s);
    say("state %d", state(s));
    REPORT("send empty", send(s, "", 0, 0));
    REPORT("first send", send(s, "abc", 3, 0));
    usleep(50000);
    showpoll("after reset", s);
    say("state %d", state(s));
    REPORT("second send", send(s, "abc", 3, 0));
    REPORT("third send", send(s, "abc", 3, 0));
    REPORT("recv", recv(s, b, sizeof b, 0));
    say("SO_ERROR %s", errname(soerror(s)));
    close(s);

    pair(&c, &s);
    close(c);
    usleep(50000);
    REPORT("first send", send(s, "abc", 3, 0));
    usleep(50000);
    say("SO_ERROR %s", errname(soerror(s)));
    REPORT("recv", recv(s, b, sizeof b, 0));
    REPORT("send", send(s, "abc", 3, 0));
    close(s);

    pair(&c, &s);
    close(c);
    usleep(50000);
    REPORT("first send", send(s, "abc", 3, 0));
    usleep(50000);
    REPORT("recv", recv(s, b, sizeof b, 0));
    REPORT("recv again", recv(s, b, sizeof b, 0));
    REPORT("send", send(s, "abc", 3, 0));
    close(s);

    /* Closed with unread data: a reset at once. */
    pair(&c, &s);
    REPORT("send to unread", send(c, "xyz", 3, 0));
    usleep(50000);
    close(s);
    usleep(50000);
    showpoll("after reset by unread", c);
    say("state %d", state(c));
    REPORT("recv", recv(c, b, sizeof b, 0));
    REPORT("recv again", recv(c, b, sizeof b, 0));
    REPORT("send", send(c, "abc", 3, 0));
    say("SO_ERROR %s", errname(soerror(c)));
    close(c);

    /* Unread data both ways: the reset discards what was queued. */
    pair(&c, &s);
    REPORT("send to unread", send(c, "xyz", 3, 0));
    REPORT("send back", send(s, "12", 2, 0));
    usleep(50000);
    close(s);
    usleep(50000);
    REPORT("recv", recv(c, b, sizeof b, 0));
    REPORT("recv again", recv(c, b, sizeof b, 0));
    close(c);
    return 0;
}
