/* read/write/pread/pwrite of files on a bind mount (conformance-bind:
 * /directio), whose bytes move straight between the host file and the
 * caller's memory: positions, EOF, O_APPEND, a buffer whose second page
 * is unmapped or read-only (the transfer stops at the fault), a buffer
 * that is a MAP_SHARED mapping of another file, and a buffer shared
 * copy-on-write with a forked child. */
#include "conf.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define PG 4096

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1])) return 2;
    int f = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    static char block[3 * PG];
    for (int i = 0; i < (int)sizeof block; i++) block[i] = 'a' + i % 26;
    ssize_t w = write(f, block, sizeof block);
    say("write: %zd pos %ld", w, (long)lseek(f, 0, SEEK_CUR));
    say("pwrite past end: %zd", pwrite(f, "END", 3, 4 * PG));
    struct stat st;
    fstat(f, &st);
    say("size: %ld", (long)st.st_size);
    lseek(f, 0, SEEK_SET);
    char buf[64];
    ssize_t n = read(f, buf, 10);
    say("read: %zd '%.10s' pos %ld", n, buf, (long)lseek(f, 0, SEEK_CUR));
    n = pread(f, buf, 5, 26);
    say("pread: %zd '%.5s' pos %ld", n, buf, (long)lseek(f, 0, SEEK_CUR));
    lseek(f, 4 * PG, SEEK_SET);
    n = read(f, buf, sizeof buf);
    say("read at the end: %zd '%.3s'", n, buf);
    say("read at EOF: %zd", read(f, buf, sizeof buf));
    say("pread beyond EOF: %zd", pread(f, buf, 8, 10 * PG));

    /* A hole after the first page of the buffer: the copy stops there. */
    char *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(two + PG, PG);
    lseek(f, 0, SEEK_SET);
    n = read(f, two, 2 * PG);
    say("read into half a buffer: %zd pos %ld", n, (long)lseek(f, 0, SEEK_CUR));
    n = read(f, two + PG, 10);
    say("read into no buffer: %s pos %ld", n < 0 ? errname(errno) : "ok", (long)lseek(f, 0, SEEK_CUR));
    n = pwrite(f, two + PG - 5, 10, 0);
    say("pwrite from half a buffer: %zd", n);
    n = write(f, two + PG, 10);
    say("write from no buffer: %s", n < 0 ? errname(errno) : "ok");
    mprotect(two, PG, PROT_READ);
    n = pread(f, two, 10, 0);
    say("pread into read-only memory: %s", n < 0 ? errname(errno) : "ok");

    /* The buffer is a shared mapping of another file. */
    int g = open("other", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (ftruncate(g, PG)) return 1;
    char *shared = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, g, 0);
    n = pread(f, shared, 26, 0);
    say("pread into a shared mapping: %zd", n);
    char check[27] = {0};
    say("the other file holds: %zd '%s'", pread(g, check, 26, 0), check);
    memcpy(shared, "from-the-mapping", 16);
    say("pwrite from a shared mapping: %zd", pwrite(f, shared, 16, 100));
    memset(check, 0, sizeof check);
    say("reads back: %zd '%s'", pread(f, check, 16, 100), check);

    /* A buffer shared copy-on-write with a child. */
    char *cow = malloc(256 * 1024);
    memset(cow, 'P', 256 * 1024);
    pid_t child = fork();
    if (child == 0) {
        ssize_t r = pread(f, cow + 1000, 20, 0);
        say("child pread: %zd '%.20s'", r, cow + 1000);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    say("parent keeps: '%.5s'", cow + 1000);

    /* O_APPEND: every write at the end, pwrite too. */
    int ap = open("data", O_WRONLY | O_APPEND);
    say("append write: %zd", write(ap, "++", 2));
    say("append pwrite at 0: %zd", pwrite(ap, "--", 2, 0));
    fstat(f, &st);
    say("size: %ld", (long)st.st_size);
    memset(buf, 0, sizeof buf);
    say("tail: %zd '%s'", pread(f, buf, 7, 4 * PG), buf);
    say("head: %zd '%.2s'", pread(f, buf, 2, 0), buf);
    unlink("data");
    unlink("other");
    return 0;
}
