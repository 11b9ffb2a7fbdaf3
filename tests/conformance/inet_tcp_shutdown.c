/* Data on a loopback TCP connection: half-close (SHUT_WR gives the peer
 * EOF and POLLRDHUP while the other direction still works), EPIPE with
 * SIGPIPE and without it under MSG_NOSIGNAL, MSG_PEEK, MSG_DONTWAIT,
 * MSG_WAITALL across writes from a child, FIONREAD, SO_RCVTIMEO, read and
 * write, and EOF after the peer closes. */
#include "conf.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

static volatile int pipes;
static void on_pipe(int sig) { (void)sig; pipes++; }

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

/* A connected pair (client, server) over 127.0.0.1. */
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
    signal(SIGPIPE, on_pipe);
    int c, s;
    pair(&c, &s);
    showpoll("connected", c);
    say("state %d", state(c));
    char b[64];
    REPORT("MSG_DONTWAIT on empty", recv(s, b, sizeof b, MSG_DONTWAIT));
    REPORT("write", write(c, "hello", 5));
    struct pollfd p = {s, POLLIN, 0};
    poll(&p, 1, 1000);
    int n = 0;
    ioctl(s, FIONREAD, &n);
    say("FIONREAD %d", n);
    n = recv(s, b, 3, MSG_PEEK);
    say("peek %d %.*s", n, n, b);
    n = read(s, b, sizeof b);
    say("read %d %.*s", n, n, b);

    REPORT("shutdown WR", shutdown(c, SHUT_WR));
    poll(&p, 1, 1000);
    showpoll("peer after SHUT_WR", s);
    showpoll("self after SHUT_WR", c);
    say("peer state %d", state(s));
    REPORT("peer reads EOF", read(s, b, sizeof b));
    REPORT("write after SHUT_WR", write(c, "x", 1));
    say("SIGPIPE count %d", pipes);
    REPORT("send MSG_NOSIGNAL", send(c, "x", 1, MSG_NOSIGNAL));
    say("SIGPIPE count %d", pipes);
    REPORT("peer still writes", write(s, "back", 4));
    n = recv(c, b, 4, MSG_WAITALL);
    say("closer reads %d %.*s", n, n, b);
    REPORT("shutdown bad how", shutdown(c, 7));

    /* MSG_WAITALL gathers what a child writes in pieces. */
    close(c);
    close(s);
    pair(&c, &s);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 4; i++) {
            usleep(20000);
            (void)!write(c, "abcd", 4);
        }
        _exit(0);
    }
    n = recv(s, b, 16, MSG_WAITALL);
    say("MSG_WAITALL %d %.*s", n, n, b);
    waitpid(pid, NULL, 0);

    /* SO_RCVTIMEO ends a blocking read with EAGAIN. */
    struct timeval tv = {0, 100000};
    REPORT("SO_RCVTIMEO", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    REPORT("read times out", read(s, b, sizeof b));
    tv = (struct timeval){0, 0};
    socklen_t tl = sizeof tv;
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl);
    say("SO_RCVTIMEO reads %ld.%06ld len %d", (long)tv.tv_sec, (long)tv.tv_usec, (int)tl);
    tv = (struct timeval){0, 2000000};
    REPORT("SO_RCVTIMEO bad usec", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));

    /* The peer closes: EOF, then POLLHUP once both directions are done. */
    close(c);
    REPORT("read after peer close", read(s, b, sizeof b));
    showpoll("after peer close", s);
    close(s);
    return 0;
}
