/* AF_UNIX abstract names: bind/listen/accept/connect across fork,
 * getsockname/getpeername of abstract and autobound addresses, non-blocking
 * accept EAGAIN, ECONNREFUSED without a listener, EADDRINUSE, SO_PEERCRED,
 * SO_ACCEPTCONN, a listener's POLLIN, connected datagrams by name. */
#include "conf.h"
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static socklen_t mkaddr(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

static void show(const char *label, struct sockaddr_un *a, socklen_t len) {
    char name[128];
    int n = len - offsetof(struct sockaddr_un, sun_path);
    if (n <= 0) {
        say("%s: len=%u (unnamed)", label, len);
        return;
    }
    for (int i = 0; i < n; i++) name[i] = a->sun_path[i] ? a->sun_path[i] : '@';
    say("%s: len=%u family=%d name=%.*s", label, len, a->sun_family, n, name);
}

int main(void) {
    struct sockaddr_un a, got;
    socklen_t len = mkaddr(&a, "moat-conf-listen"), gl;
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("connect, nobody", connect(c, (struct sockaddr *)&a, len));
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REPORT("listen unbound", listen(l, 5));
    REPORT("bind", bind(l, (struct sockaddr *)&a, len));
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("bind again", bind(l2, (struct sockaddr *)&a, len));
    REPORT("connect, not listening", connect(c, (struct sockaddr *)&a, len));
    REPORT("listen", listen(l, 5));
    int v;
    socklen_t vl = sizeof v;
    getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
    say("SO_ACCEPTCONN %d", v);
    REPORT("accept none pending", accept(l, NULL, NULL));
    gl = sizeof got;
    getsockname(l, (struct sockaddr *)&got, &gl);
    show("listener name", &got, gl);
    pid_t pid = fork();
    if (pid == 0) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&a, len) != 0) _exit(1);
        struct sockaddr_un p;
        socklen_t pl = sizeof p;
        getpeername(s, (struct sockaddr *)&p, &pl);
        show("child peer", &p, pl);
        pl = sizeof p;
        getsockname(s, (struct sockaddr *)&p, &pl);
        show("child own name", &p, pl);
        struct ucred cr;
        socklen_t cl = sizeof cr;
        getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
        say("child: peer cred pid is parent %s, uid %s", YN(cr.pid == getppid()), YN(cr.uid == getuid()));
        (void)!write(s, "from child", 10);
        char b[16];
        int n = read(s, b, sizeof b);
        say("child read %d %.*s", n, n, b);
        _exit(0);
    }
    struct pollfd p = {l, POLLIN, 0};
    poll(&p, 1, 5000);
    short lrev = p.revents;
    gl = sizeof got;
    int s = accept4(l, (struct sockaddr *)&got, &gl, SOCK_CLOEXEC);
    /* The child prints before it writes: read first, then print. */
    char b[16];
    int n = read(s, b, sizeof b);
    say("listener poll %#x", lrev);
    say("accepted %s", YN(s >= 0));
    show("accept peer", &got, gl);
    gl = sizeof got;
    getsockname(s, (struct sockaddr *)&got, &gl);
    show("accepted name", &got, gl);
    struct ucred cr;
    socklen_t cl = sizeof cr;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
    say("peer cred pid is child %s, uid %s, gid %s", YN(cr.pid == pid), YN(cr.uid == getuid()), YN(cr.gid == getgid()));
    say("read %d %.*s", n, n, b);
    (void)!write(s, "to child", 8);
    int st;
    waitpid(pid, &st, 0);
    say("child exit %d", WEXITSTATUS(st));
    n = read(s, b, sizeof b);
    say("read after child exit %d", n);

    /* Autobind: five hex digits after a NUL. */
    int u = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un fam = {.sun_family = AF_UNIX};
    REPORT("autobind", bind(u, (struct sockaddr *)&fam, sizeof(sa_family_t)));
    gl = sizeof got;
    getsockname(u, (struct sockaddr *)&got, &gl);
    say("autobind len=%u first=%d", gl, got.sun_path[0]);
    gl = sizeof got;
    getsockname(c, (struct sockaddr *)&got, &gl);
    show("unbound name", &got, gl);
    REPORT("getpeername unconnected", getpeername(c, (struct sockaddr *)&got, &gl));

    /* Datagrams by name. */
    struct sockaddr_un da;
    socklen_t dl = mkaddr(&da, "moat-conf-dgram");
    int r = socket(AF_UNIX, SOCK_DGRAM, 0);
    REPORT("bind dgram", bind(r, (struct sockaddr *)&da, dl));
    REPORT("sendto", sendto(u, "hey", 3, 0, (struct sockaddr *)&da, dl));
    gl = sizeof got;
    n = recvfrom(r, b, sizeof b, 0, (struct sockaddr *)&got, &gl);
    say("recvfrom %d %.*s from len %u", n, n, b, gl);
    REPORT("connect stream to dgram", connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&da, dl));
    return 0;
}
