/* F_GETPIPE_SZ / F_SETPIPE_SZ: the default capacity, rounding up to a
 * power-of-two number of pages, EBUSY below what the pipe holds, the new
 * capacity bounds a non-blocking write, EBADF on a file that is not a
 * pipe. */
#include "conf.h"
#include <fcntl.h>

int main(void) {
    int p[2];
    if (pipe2(p, O_NONBLOCK)) return 1;
    say("default: %d", fcntl(p[1], F_GETPIPE_SZ));
    say("set 1: %d", fcntl(p[1], F_SETPIPE_SZ, 1));
    say("set 100000: %d", fcntl(p[0], F_SETPIPE_SZ, 100000));
    say("read end sees: %d", fcntl(p[0], F_GETPIPE_SZ));
    static char buf[300000];
    say("write 300000: %zd", write(p[1], buf, sizeof buf));
    int r = fcntl(p[1], F_SETPIPE_SZ, 4096);
    say("shrink below the content: %s", r < 0 ? errname(errno) : "ok");
    say("read back: %zd", read(p[0], buf, sizeof buf));
    say("set 4096: %d", fcntl(p[1], F_SETPIPE_SZ, 4096));
    say("write 8192: %zd", write(p[1], buf, 8192));
    r = fcntl(open("/proc/self/exe", O_RDONLY), F_GETPIPE_SZ);
    say("not a pipe: %s", r < 0 ? errname(errno) : "ok");
    r = fcntl(p[1], F_SETPIPE_SZ, -1);
    say("set -1: %s", r < 0 ? errname(errno) : "ok");
    return 0;
}
