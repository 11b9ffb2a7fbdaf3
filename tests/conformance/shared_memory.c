/* MAP_SHARED anonymous memory is shared with children across fork (and
 * MAP_PRIVATE is not); a futex in it wakes across processes; mremap moves
 * and grows mappings keeping their contents; a MAP_SHARED mapping of
 * /dev/zero is shared anonymous memory, a private one private. */
#include "conf.h"
#include <linux/futex.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

int main(void) {
    volatile uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    volatile uint32_t *private = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    shared[0] = 1;
    private[0] = 1;
    pid_t pid = fork();
    if (pid == 0) {
        shared[0] = 2;
        private[0] = 2;
        /* Wake the parent through the shared word. */
        shared[1] = 1;
        syscall(SYS_futex, &shared[1], FUTEX_WAKE, 1, NULL, NULL, 0);
        _exit(0);
    }
    /* Wait (shared futex) until the child has set the flag. */
    while (shared[1] == 0) syscall(SYS_futex, &shared[1], FUTEX_WAIT, 0, NULL, NULL, 0);
    int st;
    waitpid(pid, &st, 0);
    say("shared sees the child's write: %u", shared[0]);
    say("private keeps the parent's: %u", private[0]);
    REPORT("MADV_DONTNEED on shared", madvise((void *)shared, 4096, MADV_DONTNEED));
    say("shared after DONTNEED: %u", shared[0]);
    munmap((void *)shared, 4096);

    /* mremap: grow in place or move, contents kept, new tail zero. */
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[0] = 'a';
    p[8191] = 'b';
    char *q = mremap(p, 8192, 1 << 20, MREMAP_MAYMOVE);
    say("grown: %s, kept %c%c, tail %d", YN(q != MAP_FAILED), q[0], q[8191], q[(1 << 20) - 1]);
    char *r = mremap(q, 1 << 20, 4096, 0);
    say("shrunk in place: %s, kept %c", YN(r == q), r[0]);
    /* A hole after the mapping forces a move when MAYMOVE is absent: ENOMEM. */
    mmap(r + 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    REPORT("grow without MAYMOVE into a mapping", mremap(r, 4096, 8192, 0) == MAP_FAILED ? -1 : 0);
    REPORT("mremap unaligned", mremap(r + 1, 4096, 8192, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0);
    REPORT("mremap of unmapped", mremap((void *)0x10000000, 4096, 8192, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0);
    int zero = open("/dev/zero", O_RDWR);
    volatile char *zs = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
    volatile char *zp = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    say("/dev/zero mappings: %s %s, start zeroed: %d %d", zs == MAP_FAILED ? errname(errno) : "ok",
        zp == MAP_FAILED ? errname(errno) : "ok", zs[5000], zp[5000]);
    if (fork() == 0) {
        zs[5000] = 'S';
        zp[5000] = 'P';
        _exit(0);
    }
    wait(NULL);
    say("after the child's stores: shared %c, private %d", zs[5000], zp[5000]);
    return 0;
}
