/* A Unix socket path name is bytes, not text: a name that is not UTF-8
 * binds, reads back from getsockname byte for byte, and a connect through
 * another spelling of the same path (//, ./) finds the listener.
 * conformance-bind: /sockdir */
#include "conf.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static socklen_t mk(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char name[100];
    snprintf(name, sizeof name, "%s/moat-conf-\xff\xfe", dir);
    unlink(name);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    REPORT("bind non-UTF-8", bind(l, (struct sockaddr *)&a, mk(&a, name)));
    REPORT("listen", listen(l, 1));
    struct sockaddr_un got;
    socklen_t gl = sizeof got;
    getsockname(l, (struct sockaddr *)&got, &gl);
    say("getsockname length right %d same %d", (int)gl == (int)(offsetof(struct sockaddr_un, sun_path) + strlen(name) + 1),
        strcmp(got.sun_path, name) == 0);
    char other[100];
    snprintf(other, sizeof other, "/%s/./moat-conf-\xff\xfe", dir);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    REPORT("connect other spelling", connect(c, (struct sockaddr *)&a, mk(&a, other)));
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(other, sizeof other, "%s/moat-conf-\xff\xfd", dir);
    REPORT("connect other bytes", connect(c2, (struct sockaddr *)&a, mk(&a, other)));
    close(c);
    close(c2);
    close(l);
    unlink(name);
    return 0;
}
