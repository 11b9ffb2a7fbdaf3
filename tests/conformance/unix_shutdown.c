/* shutdown on AF_UNIX stream sockets: SHUT_WR gives the peer EOF and
 * POLLRDHUP, writing after SHUT_WR is EPIPE with SIGPIPE (none with
 * MSG_NOSIGNAL), SHUT_RD makes the peer's writes EPIPE, closing the peer
 * gives EOF and POLLHUP, MSG_WAITALL gathers across writes. */
#include "conf.h"
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

static volatile int pipes;
static void on_pipe(int sig) { (void)sig; pipes++; }

static void showpoll(const char *label, int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
    poll(&p, 1, 0);
    say("%s: %#x", label, p.revents);
}

int main(void) {
    signal(SIGPIPE, on_pipe);
    int s[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    showpoll("fresh", s[0]);
    (void)!write(s[0], "last", 4);
    REPORT("shutdown WR", shutdown(s[0], SHUT_WR));
    showpoll("peer after SHUT_WR", s[1]);
    showpoll("self after SHUT_WR", s[0]);
    char b[16];
    int n = read(s[1], b, sizeof b);
    say("read %d %.*s", n, n, b);
    REPORT("read at EOF", read(s[1], b, sizeof b));
    REPORT("write after SHUT_WR", write(s[0], "x", 1));
    say("SIGPIPE count %d", pipes);
    REPORT("send MSG_NOSIGNAL", send(s[0], "x", 1, MSG_NOSIGNAL));
    say("SIGPIPE count %d", pipes);
    REPORT("peer can still write", write(s[1], "back", 4));
    n = read(s[0], b, sizeof b);
    say("read back %d", n);
    REPORT("shutdown bad how", shutdown(s[0], 7));

    int t[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, t);
    REPORT("shutdown RD", shutdown(t[1], SHUT_RD));
    REPORT("write to SHUT_RD peer", send(t[0], "x", 1, MSG_NOSIGNAL));
    REPORT("read own SHUT_RD", read(t[1], b, sizeof b));
    close(t[1]);
    showpoll("after peer close", t[0]);
    REPORT("read after peer close", read(t[0], b, sizeof b));
    REPORT("write after peer close", send(t[0], "x", 1, MSG_NOSIGNAL));

    int w[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, w);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 4; i++) {
            (void)!write(w[1], "ab", 2);
            usleep(10000);
        }
        _exit(0);
    }
    n = recv(w[0], b, 8, MSG_WAITALL);
    say("MSG_WAITALL %d %.*s", n, n, b);
    waitpid(pid, NULL, 0);
    return 0;
}
