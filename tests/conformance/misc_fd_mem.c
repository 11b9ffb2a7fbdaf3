/* close_range, posix_fadvise and mincore. */
#include "conf.h"
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/mman.h>

int main(int argc, char **argv) {
    (void)argc;
    int p[2];
    pipe(p);
    for (int fd = 10; fd <= 12; fd++) dup2(p[0], fd);
    REPORT("close_range 11..12", syscall(SYS_close_range, 11, 12, 0));
    say("fd 10 open: %s, 11 open: %s", YN(fcntl(10, F_GETFD) >= 0), YN(fcntl(11, F_GETFD) >= 0));
    REPORT("close_range CLOEXEC", syscall(SYS_close_range, 10, 10, CLOSE_RANGE_CLOEXEC));
    say("fd 10 cloexec: %s", YN(fcntl(10, F_GETFD) == FD_CLOEXEC));
    REPORT("close_range first > last", syscall(SYS_close_range, 5, 4, 0));
    REPORT("close_range bad flags", syscall(SYS_close_range, 5, 6, 0x80));

    int f = open(argv[0], O_RDONLY);
    say("fadvise file: %d", posix_fadvise(f, 0, 0, POSIX_FADV_SEQUENTIAL));
    say("fadvise pipe: %s", errname(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL)));
    say("fadvise bad advice: %s", errname(posix_fadvise(f, 0, 0, 99)));
    say("fadvise bad fd: %s", errname(posix_fadvise(99, 0, 0, 0)));

    unsigned char vec[4];
    char *m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[4096] = 1;
    m[3 * 4096] = 1;
    REPORT("mincore", mincore(m, 4 * 4096, vec));
    say("resident pages: %d %d %d %d", vec[0] & 1, vec[1] & 1, vec[2] & 1, vec[3] & 1);
    REPORT("mincore unaligned", mincore(m + 1, 4096, vec));
    munmap(m + 2 * 4096, 4096);
    REPORT("mincore over a hole", mincore(m, 4 * 4096, vec));
    return 0;
}
