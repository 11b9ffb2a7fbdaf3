/* Unix sockets bound on a bind mount (conformance-bind: /sockmount): the
 * bind makes a socket node there (S_IFSOCK, permissions from the umask,
 * listed by readdir), a connect through it reaches the listener, a second
 * bind of the name is EADDRINUSE, open() of the node ENXIO, and once the
 * node is unlinked a connect is ENOENT and the name binds again. */
#include "conf.h"
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static socklen_t mk(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char name[200];
    snprintf(name, sizeof name, "%s/srv.sock", argv[1]);
    umask(022);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    REPORT("bind", bind(l, (struct sockaddr *)&a, mk(&a, name)));
    struct stat st;
    REPORT("lstat", lstat(name, &st));
    say("socket node %d mode %o", S_ISSOCK(st.st_mode), st.st_mode & 07777);
    DIR *d = opendir(argv[1]);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') say("listed %s type sock %d", e->d_name, e->d_type == DT_SOCK);
    if (d) closedir(d);
    REPORT("listen", listen(l, 4));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("connect", connect(c, (struct sockaddr *)&a, mk(&a, name)));
    int s = accept(l, NULL, NULL);
    say("accepted %d", s >= 0);
    say("write %zd", write(c, "ping", 4));
    char buf[8] = {0};
    say("read %zd %s", read(s, buf, sizeof buf - 1), buf);
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("second bind", bind(l2, (struct sockaddr *)&a, mk(&a, name)));
    REPORT("open the node", open(name, O_RDONLY));
    REPORT("unlink", unlink(name));
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("connect after unlink", connect(c2, (struct sockaddr *)&a, mk(&a, name)));
    REPORT("bind again", bind(l2, (struct sockaddr *)&a, mk(&a, name)));
    REPORT("listen again", listen(l2, 1));
    REPORT("connect to the new one", connect(c2, (struct sockaddr *)&a, mk(&a, name)));
    /* A datagram socket on the mount. */
    char dname[200];
    snprintf(dname, sizeof dname, "%s/dgram.sock", argv[1]);
    int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
    REPORT("bind dgram", bind(dg, (struct sockaddr *)&a, mk(&a, dname)));
    int ds = socket(AF_UNIX, SOCK_DGRAM, 0);
    say("sendto %zd", sendto(ds, "dg", 2, 0, (struct sockaddr *)&a, mk(&a, dname)));
    memset(buf, 0, sizeof buf);
    say("recv %zd %s", recv(dg, buf, sizeof buf - 1, 0), buf);
    unlink(name);
    unlink(dname);
    return 0;
}
