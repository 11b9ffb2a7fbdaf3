/* Private mappings of a file on the root file system (in moat: a host file
 * the gofer donated, mapped by the host when not writable): contents equal
 * pread's, past EOF in the last page reads zero, mprotect to writable
 * gives a private copy the file never sees, fork and mremap keep the
 * contents, MADV_DONTNEED keeps them, mincore answers, and the
 * kernel reads a mapped buffer (write(2) from it). The file is the program
 * itself. */
#include "conf.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char want[1 << 16];

int main(void) {
    int fd = open("/proc/self/exe", O_RDONLY);
    struct stat st;
    fstat(fd, &st);
    long page = sysconf(_SC_PAGESIZE);
    long len = st.st_size < (long)sizeof want ? st.st_size : (long)sizeof want;
    len -= len % page;
    pread(fd, want, len, 0);

    unsigned char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    say("mmap PROT_READ: %s", YN(m != MAP_FAILED));
    say("contents equal pread: %s", YN(memcmp(m, want, len) == 0));

    /* The last page of the file, past its end: zeros. */
    off_t last = st.st_size - st.st_size % page;
    unsigned char *tail = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, last);
    long in_file = st.st_size - last, zero = 1;
    for (long i = in_file; i < page; i++) zero &= tail[i] == 0;
    say("past EOF in the last page is zero: %s", YN(zero));

    /* The kernel reads from the mapping. */
    int p[2];
    pipe(p);
    char back[4096];
    say("write from the mapping: %s", YN(write(p[1], m, 4096) == 4096));
    say("read back equal: %s", YN(read(p[0], back, 4096) == 4096 && memcmp(back, want, 4096) == 0));
    /* ... and refuses to write into it. */
    int q[2];
    pipe(q);
    write(q[1], "q", 1);
    REPORT("read into a read-only mapping", read(q[0], m, 1));

    unsigned char vec[4];
    /* (Which pages count as in differs: the host's page cache.) */
    say("mincore: %s", YN(mincore(m, 4 * page, vec) == 0));
    say("MADV_DONTNEED: %s, contents kept: %s", YN(madvise(m, len, MADV_DONTNEED) == 0),
        YN(memcmp(m, want, len) == 0));

    pid_t child = fork();
    if (child == 0) _exit(memcmp(m, want, len) == 0 ? 0 : 1);
    int status;
    waitpid(child, &status, 0);
    say("child sees the contents: %s", YN(WIFEXITED(status) && WEXITSTATUS(status) == 0));

    unsigned char *moved = mremap(m, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, m + 64 * len);
    say("mremap moved: %s, contents kept: %s", YN(moved != MAP_FAILED), YN(memcmp(moved, want, len) == 0));
    m = moved;

    /* Made writable: a private copy. */
    say("mprotect RW: %s", YN(mprotect(m, 2 * page, PROT_READ | PROT_WRITE) == 0));
    say("contents still equal: %s", YN(memcmp(m, want, len) == 0));
    m[10] ^= 0xff;
    m[page + 5] ^= 0xff;
    say("store seen: %s", YN(m[10] == (unsigned char)(want[10] ^ 0xff)));
    unsigned char b;
    pread(fd, &b, 1, 10);
    say("file unchanged: %s", YN(b == (unsigned char)want[10]));
    say("rest unchanged: %s", YN(memcmp(m + 2 * page, want + 2 * page, len - 2 * page) == 0));
    /* A write(2) into the now-writable copy. */
    write(p[1], "xyz", 3);
    say("read into the copy: %s", YN(read(p[0], m + 100, 3) == 3 && memcmp(m + 100, "xyz", 3) == 0));
    child = fork();
    if (child == 0) _exit(m[10] == (unsigned char)(want[10] ^ 0xff) ? 0 : 1);
    waitpid(child, &status, 0);
    say("child sees the copy: %s", YN(WIFEXITED(status) && WEXITSTATUS(status) == 0));

    /* A second mapping of the file is the file again, not the copy. */
    unsigned char *again = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0);
    say("a new mapping shows the file: %s", YN(again[10] == (unsigned char)want[10]));
    say("munmap: %s", YN(munmap(m, len) == 0 && munmap(again, page) == 0 && munmap(tail, page) == 0));
    return 0;
}
