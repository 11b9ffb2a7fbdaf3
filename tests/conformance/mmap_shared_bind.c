/* MAP_SHARED of files on a bind mount (conformance-bind: /bindwork),
 * served by the gofer: stores through the mapping reach the file (read()
 * sees them) and write() shows in the mapping; a forked child and a second
 * mapping share the pages; a read() into the mapping stores into the file
 * without growing it; mprotect(PROT_WRITE) of a read-only descriptor's
 * mapping is EACCES; msync works; a process-shared futex in the file wakes
 * a waiter in another process; /proc/self/maps marks it shared. argv[1] is
 * the directory (the bind mount in moat, a fresh directory natively). */
#include "conf.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) return 1;
    int fd = open("shared.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (ftruncate(fd, 8192) != 0) return 1;
    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    say("mmap: %s", m == MAP_FAILED ? errname(errno) : "ok");
    if (m == MAP_FAILED) return 0;
    memcpy(m + 100, "through the mapping", 19);
    char buf[32] = {0};
    (void)!pread(fd, buf, 19, 100);
    say("read() sees the store: %s", buf);
    (void)!pwrite(fd, "by write()", 10, 4000);
    say("the mapping sees write(): %.10s", m + 4000);

    /* A second mapping of the same range shares the pages. */
    char *m2 = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    say("second mapping: %.19s", m2 + 100);

    /* A child's stores show in the parent. */
    pid_t c = fork();
    if (c == 0) {
        memcpy(m + 200, "from the child", 14);
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    say("parent sees the child's store: %.14s", m + 200);

    /* read() into the mapping stores into the file; the file keeps its size. */
    int p[2];
    if (pipe(p)) return 1;
    (void)!write(p[1], "piped", 5);
    say("read() into the mapping: %zd", read(p[0], m + 300, 5));
    memset(buf, 0, sizeof buf);
    (void)!pread(fd, buf, 5, 300);
    struct stat sb;
    fstat(fd, &sb);
    say("file has: %s, size %ld", buf, (long)sb.st_size);
    say("msync: %d", msync(m, 8192, MS_SYNC));

    /* A mapping of a read-only descriptor cannot be made writable. */
    int ro = open("shared.dat", O_RDONLY);
    char *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
    say("mprotect PROT_WRITE of a read-only fd's shared mapping: %s",
        mprotect(r, 4096, PROT_READ | PROT_WRITE) == 0 ? "ok" : errname(errno));
    say("mmap PROT_WRITE shared of a read-only fd: %s",
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED ? errname(errno) : "ok");

    /* A futex word in the file, shared by two processes. */
    uint32_t *word = (uint32_t *)(m + 4096);
    *word = 0;
    c = fork();
    if (c == 0) {
        while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == 0)
            syscall(SYS_futex, word, FUTEX_WAIT, 0, NULL, NULL, 0);
        _exit(*word == 7 ? 0 : 1);
    }
    usleep(100000);
    __atomic_store_n(word, 7, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
    waitpid(c, &st, 0);
    say("shared futex in the file: child exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

    /* /proc/self/maps marks the mapping shared. */
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int shared = 0;
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, "shared.dat") && strstr(line, "rw-s")) shared = 1;
    say("maps shows rw-s: %s", shared ? "yes" : "no");
    munmap(m, 8192);
    fd = open("shared.dat", O_RDONLY);
    memset(buf, 0, sizeof buf);
    (void)!pread(fd, buf, 14, 200);
    say("after munmap the file keeps: %s", buf);
    unlink("shared.dat");
    return 0;
}
