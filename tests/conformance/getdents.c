/* getdents64/getdents on a directory: records, ".", "..", d_type, end of
 * directory, rewinding with lseek, resuming at a d_off, EINVAL on a buffer
 * too small, ENOTDIR on a file. Lists the program's own directory (only
 * its own entry is stable: other programs land there concurrently) and
 * the one above it (the conformance root, whose entries are fixed). */
#include "conf.h"
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>

struct d64 {
    unsigned long long ino;
    long long off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

static char names[64][256];
static unsigned char types[64];
static int count;

static int cmp(const void *a, const void *b) { return strcmp(a, b); }

/* Reads the whole directory with buffers of `size` bytes; returns the
 * number of getdents64 calls that returned entries, or -errno. */
static int list(int fd, size_t size) {
    char buf[8192];
    int calls = 0;
    count = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, size);
        if (n < 0) return -errno;
        if (n == 0) return calls;
        calls++;
        for (long at = 0; at < n;) {
            struct d64 *d = (struct d64 *)(buf + at);
            if (d->reclen % 8 != 0 || d->reclen < 20) say("bad reclen %u", d->reclen);
            if (count < 64) {
                snprintf(names[count], sizeof names[count], "%s", d->name);
                types[count] = d->type;
                count++;
            }
            at += d->reclen;
        }
    }
}

static int type_of(const char *name) {
    for (int i = 0; i < count; i++)
        if (!strcmp(names[i], name)) return types[i];
    return -1;
}

int main(int argc, char **argv) {
    (void)argc;
    char self[4096], dir[4096], up[4200];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(dir, sizeof dir, "%s", dirname(self));
    snprintf(self, sizeof self, "%s", argv[0]);
    const char *me = basename(self);
    snprintf(up, sizeof up, "%s/..", dir);

    /* The conformance root: fixed entries, printed sorted. */
    int fd = open(up, O_RDONLY | O_DIRECTORY);
    say("open root: %s", YN(fd >= 0));
    int calls = list(fd, 8192);
    say("one call: %s", YN(calls == 1));
    char sorted[64][256];
    memcpy(sorted, names, sizeof sorted);
    qsort(sorted, count, sizeof sorted[0], cmp);
    for (int i = 0; i < count; i++) say("entry %s type %d", sorted[i], type_of(sorted[i]));
    int total = count;
    REPORT("at end", syscall(SYS_getdents64, fd, names, 8192));

    /* Rewind, then one entry per call: same entries. */
    REPORT("rewind", lseek(fd, 0, SEEK_SET));
    calls = list(fd, 32);
    say("32-byte buffer: %d entries, one per call: %s", count, YN(calls == count));
    lseek(fd, 0, SEEK_SET);
    REPORT("buffer too small", syscall(SYS_getdents64, fd, names, 10));
    REPORT("bad buffer", syscall(SYS_getdents64, fd, (void *)8, 4096));

    /* Resume at a d_off: the entry after it comes next. */
    lseek(fd, 0, SEEK_SET);
    char buf[4096];
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    struct d64 *first = (struct d64 *)buf;
    struct d64 *second = (struct d64 *)(buf + first->reclen);
    char want[256];
    snprintf(want, sizeof want, "%s", second->name);
    say("got entries: %s", YN(n > first->reclen));
    say("seek to d_off: %s", YN(lseek(fd, first->off, SEEK_SET) == first->off));
    n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    say("resumed at the second: %s", YN(n > 0 && !strcmp(((struct d64 *)buf)->name, want)));
    close(fd);

    /* The old getdents: same names, d_type in the last byte. */
    fd = open(up, O_RDONLY | O_DIRECTORY);
    list(fd, 8192);
    lseek(fd, 0, SEEK_SET);
    n = syscall(SYS_getdents, fd, buf, sizeof buf);
    int old_count = 0, types_agree = 1;
    for (long at = 0; at < n;) {
        unsigned short reclen = *(unsigned short *)(buf + at + 16);
        const char *name = buf + at + 18;
        unsigned char type = buf[at + reclen - 1];
        if (type_of(name) != type) types_agree = 0;
        old_count++;
        at += reclen;
    }
    say("getdents: %d entries of %d, types agree: %s", old_count, total, YN(types_agree));
    close(fd);

    /* The program's own directory. */
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    list(fd, 8192);
    say("own dir: . is dir %s, .. is dir %s, %s is a file %s", YN(type_of(".") == DT_DIR),
        YN(type_of("..") == DT_DIR), "self", YN(type_of(me) == DT_REG));
    close(fd);

    /* libc's readdir on top of it. */
    DIR *d = opendir(up);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) seen++;
    closedir(d);
    say("readdir: %s", YN(seen == total));

    int file = open(argv[0], O_RDONLY);
    REPORT("getdents64 on a file", syscall(SYS_getdents64, file, buf, sizeof buf));
    REPORT("getdents64 on a bad fd", syscall(SYS_getdents64, 999, buf, sizeof buf));
    return 0;
}
