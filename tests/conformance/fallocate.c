/* fallocate: growing a file (and not, with KEEP_SIZE), punching a hole
 * (zeroes, size kept), and the errors: EINVAL for a bad range, EBADF for
 * a read-only descriptor, ESPIPE for a pipe, EOPNOTSUPP for PUNCH_HOLE
 * without KEEP_SIZE; posix_fallocate on top of it. */
#include "conf.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>

static long size_of(int fd) {
    struct stat st;
    fstat(fd, &st);
    return (long)st.st_size;
}

static const char *rc(int r) { return r == 0 ? "0" : errname(errno); }

/* The call first, then the size: C leaves argument order open. */
#define TRY(label, call)                          \
    do {                                          \
        const char *r_ = rc(call);                \
        say("%s: %s, size %ld", label, r_, size_of(fd)); \
    } while (0)

int main(void) {
    char dir[] = "/tmp/falloc-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0) return 1;
    int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int in = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(in, "f", IN_MODIFY);
    TRY("allocate 0..10000", fallocate(fd, 0, 0, 10000));
    TRY("KEEP_SIZE to 50000", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 50000));
    char buf[12000];
    memset(buf, 'x', sizeof buf);
    (void)!pwrite(fd, buf, sizeof buf, 0);
    TRY("punch 100..9000", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 8900));
    memset(buf, 0, sizeof buf);
    (void)!pread(fd, buf, sizeof buf, 0);
    int zeros = 0, xs = 0;
    for (int i = 0; i < 12000; i++) zeros += buf[i] == 0, xs += buf[i] == 'x';
    say("after the punch: %d zero bytes, %d x, byte 99 %c, byte 9000 %c", zeros, xs, buf[99], buf[9000]);
    TRY("punch past the end", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 11000, 100000));
    say("PUNCH_HOLE alone: %s", rc(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10)));
    say("len 0: %s", rc(fallocate(fd, 0, 0, 0)));
    say("negative offset: %s", rc(fallocate(fd, 0, -1, 10)));
    char ev[4096];
    while (read(in, ev, sizeof ev) > 0) {
    }
    int pf = posix_fallocate(fd, 0, 20000);
    say("posix_fallocate to 20000: %d, size %ld", pf, size_of(fd));
    /* The fallocate under posix_fallocate is an IN_MODIFY. */
    ssize_t got = read(in, ev, sizeof ev);
    struct inotify_event *e = (struct inotify_event *)ev;
    say("inotify: %zd bytes, first mask %#x", got, got > 0 ? e->mask : 0);
    int ro = open("f", O_RDONLY);
    say("read-only descriptor: %s", rc(fallocate(ro, 0, 0, 10)));
    int p[2];
    if (pipe(p)) return 1;
    say("pipe: %s", rc(fallocate(p[1], 0, 0, 10)));
    say("bad descriptor: %s", rc(fallocate(-42, 0, 0, 10)));
    unlink("f");
    rmdir(dir);
    return 0;
}
