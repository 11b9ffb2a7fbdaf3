/* preadv, pwritev, preadv2, pwritev2 on a tmpfs file and a pipe: data
 * spread over and gathered from several buffers at an offset, the file
 * position left alone (or used and moved with offset -1 in the *2
 * calls), RWF_* flags accepted or refused as Linux does here, ESPIPE on a
 * pipe for an offset, EINVAL for negative offsets and too many
 * buffers, EBADF for the wrong access mode. */
#include "conf.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#ifndef RWF_HIPRI
#define RWF_HIPRI 1
#define RWF_DSYNC 2
#define RWF_SYNC 4
#define RWF_NOWAIT 8
#define RWF_APPEND 0x10
#endif

/* The first n bytes of b with NULs shown as '_'. */
static const char *vis(const char *b, long n) {
    static char out[64];
    if (n < 0) n = 0;
    if (n > 63) n = 63;
    for (long i = 0; i < n; i++) out[i] = b[i] ? b[i] : '_';
    out[n] = 0;
    return out;
}

int main(void) {
    int fd = open("/tmp/preadv-test", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return 1;
    char a[4] = "abcd", b[6] = "efghij";
    struct iovec w[2] = {{a, 4}, {b, 6}};
    REPORT("pwritev at 5", pwritev(fd, w, 2, 5));
    REPORT("position after pwritev", lseek(fd, 0, SEEK_CUR));
    struct stat st;
    fstat(fd, &st);
    say("size: %ld", (long)st.st_size);
    char x[3], y[20];
    memset(x, '.', sizeof x);
    memset(y, '.', sizeof y);
    struct iovec r[2] = {{x, 3}, {y, 20}};
    long n = preadv(fd, r, 2, 4);
    say("preadv at 4: %ld x=%s", n, vis(x, 3));
    say("  y=%s", vis(y, n - 3));
    REPORT("preadv at end", preadv(fd, r, 2, 100));
    REPORT("preadv negative offset", preadv(fd, r, 2, -1));
    REPORT("pwritev negative offset", pwritev(fd, w, 2, -5));
    REPORT("preadv zero buffers", preadv(fd, r, 0, 0));
    REPORT("preadv 1025 buffers", syscall(SYS_preadv, fd, r, 1025, 0, 0));

    /* The *2 calls: -1 is the file position, which moves. */
    lseek(fd, 5, SEEK_SET);
    memset(y, 0, sizeof y);
    struct iovec one = {y, 4};
    REPORT("preadv2 at -1", preadv2(fd, &one, 1, -1, 0));
    say("  read %.4s, position %ld", y, (long)lseek(fd, 0, SEEK_CUR));
    REPORT("preadv2 at 3 HIPRI", preadv2(fd, &one, 1, 3, RWF_HIPRI));
    say("  read %s, position %ld", vis(y, 4), (long)lseek(fd, 0, SEEK_CUR));
    REPORT("preadv2 NOWAIT", preadv2(fd, &one, 1, 0, RWF_NOWAIT));
    REPORT("preadv2 unknown flag", preadv2(fd, &one, 1, 0, 0x10000));
    REPORT("preadv2 offset -2", preadv2(fd, &one, 1, -2, 0));
    struct iovec z = {"ZZ", 2};
    REPORT("pwritev2 at -1 DSYNC", pwritev2(fd, &z, 1, -1, RWF_DSYNC));
    say("  position %ld", (long)lseek(fd, 0, SEEK_CUR));
    REPORT("pwritev2 at 0 SYNC", pwritev2(fd, &z, 1, 0, RWF_SYNC));
    REPORT("pwritev2 APPEND at 0", pwritev2(fd, &z, 1, 0, RWF_APPEND));
    fstat(fd, &st);
    say("  size %ld position %ld", (long)st.st_size, (long)lseek(fd, 0, SEEK_CUR));
    char all[32] = {0};
    n = pread(fd, all, sizeof all - 1, 0);
    for (int i = 0; i < n; i++)
        if (!all[i]) all[i] = '_';
    say("contents: %s", all);

    /* Access modes. */
    int ro = open("/tmp/preadv-test", O_RDONLY);
    REPORT("pwritev on read-only", pwritev(ro, w, 2, 0));
    int wo = open("/tmp/preadv-test", O_WRONLY);
    REPORT("preadv on write-only", preadv(wo, r, 2, 0));
    REPORT("preadv bad fd", preadv(999, r, 2, 0));

    /* Pipes: no offsets; -1 in the *2 calls reads and writes as readv/writev. */
    int p[2];
    if (pipe(p) != 0) return 1;
    REPORT("pwritev on pipe", pwritev(p[1], w, 2, 0));
    REPORT("pwritev2 -1 on pipe", pwritev2(p[1], w, 2, -1, 0));
    memset(y, 0, sizeof y);
    struct iovec pr[2] = {{x, 3}, {y, 20}};
    REPORT("preadv on pipe", preadv(p[0], pr, 2, 0));
    n = preadv2(p[0], pr, 2, -1, 0);
    say("preadv2 -1 on pipe: %ld x=%s", n, vis(x, 3));
    say("  y=%s", vis(y, n - 3));
    REPORT("preadv2 NOWAIT on empty pipe", preadv2(p[0], pr, 2, -1, RWF_NOWAIT));
    unlink("/tmp/preadv-test");
    return 0;
}
