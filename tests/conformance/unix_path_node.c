/* Binding a Unix socket to a path makes a socket node there (Linux
 * unix_bind_bsd): stat sees S_IFSOCK, a name that exists (a socket's or
 * a file's) is EADDRINUSE, a failed bind leaves no node; connect goes
 * through the node: unlinked is ENOENT, a regular file or a node whose
 * socket closed ECONNREFUSED, and a new bind after an unlink takes the
 * name over from the socket still open. */
#include "conf.h"
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static char dir[64];

static socklen_t mk(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name);
    return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

static int bind_to(int s, const char *name) {
    struct sockaddr_un a;
    socklen_t l = mk(&a, name);
    return bind(s, (struct sockaddr *)&a, l);
}

static int connect_to(int s, const char *name) {
    struct sockaddr_un a;
    socklen_t l = mk(&a, name);
    return connect(s, (struct sockaddr *)&a, l);
}

static void kind(const char *name) {
    struct sockaddr_un a;
    mk(&a, name);
    struct stat st;
    if (lstat(a.sun_path, &st) < 0) {
        say("%s: %s", name, errname(errno));
        return;
    }
    say("%s: socket %d mode %o", name, S_ISSOCK(st.st_mode), st.st_mode & 0777);
}

static void rm(const char *name) {
    struct sockaddr_un a;
    mk(&a, name);
    REPORT("unlink", unlink(a.sun_path));
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/moat-conf-node-%d", getpid());
    mkdir(dir, 0755);
    umask(022);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("bind", bind_to(s, "p"));
    kind("p");
    REPORT("listen", listen(s, 4));
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("bind taken name", bind_to(t, "p"));
    REPORT("bound socket binds again", bind_to(s, "q"));
    kind("q");
    REPORT("bind in a missing dir", bind_to(t, "none/x"));

    char path[128];
    snprintf(path, sizeof path, "%s/file", dir);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    REPORT("bind over a file", bind_to(t, "file"));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("connect to a file", connect_to(c, "file"));
    REPORT("connect to missing", connect_to(c, "missing"));
    REPORT("connect", connect_to(c, "p"));
    close(c);

    /* Unlinked while open: the name is free, the old socket unreachable. */
    rm("p");
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("connect after unlink", connect_to(c, "p"));
    REPORT("new bind after unlink", bind_to(t, "p"));
    REPORT("listen", listen(t, 4));
    REPORT("connect reaches the new one", connect_to(c, "p"));
    int acc = accept(t, NULL, NULL);
    say("new one accepts %d", acc >= 0);
    close(acc);
    close(c);

    /* Closed: the node stays and refuses. */
    close(t);
    kind("p");
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("connect to a closed socket's node", connect_to(c, "p"));
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a;
    socklen_t l = mk(&a, "gone");
    REPORT("sendto missing", sendto(d, "x", 1, 0, (struct sockaddr *)&a, l));
    l = mk(&a, "p");
    REPORT("sendto closed node", sendto(d, "x", 1, 0, (struct sockaddr *)&a, l));
    rm("p");
    rm("file");
    close(s);
    close(c);
    rmdir(dir);
    return 0;
}
