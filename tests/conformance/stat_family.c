/* statx against stat of the same paths (by path, by fd with AT_EMPTY_PATH,
 * the current directory), its flag checks, and statfs/fstatfs. Paths are
 * found from argv[0]: the program's directory and the conformance root
 * above it, with its fixed proc/ directory. */
#include "conf.h"
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

static long do_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *sx) {
    return syscall(SYS_statx, dirfd, path, flags, mask, sx);
}

/* Every field statx and stat share, compared. */
static void compare(const char *label, const struct statx *sx, const struct stat *st) {
    int same = sx->stx_ino == st->st_ino && sx->stx_mode == st->st_mode && sx->stx_nlink == st->st_nlink &&
               sx->stx_uid == st->st_uid && sx->stx_gid == st->st_gid && sx->stx_size == (unsigned long long)st->st_size &&
               sx->stx_blocks == (unsigned long long)st->st_blocks && sx->stx_blksize == st->st_blksize &&
               sx->stx_mtime.tv_sec == st->st_mtim.tv_sec && sx->stx_mtime.tv_nsec == st->st_mtim.tv_nsec &&
               sx->stx_ctime.tv_sec == st->st_ctim.tv_sec && sx->stx_atime.tv_sec == st->st_atim.tv_sec &&
               sx->stx_dev_major == major(st->st_dev) && sx->stx_dev_minor == minor(st->st_dev) &&
               sx->stx_rdev_major == major(st->st_rdev) && sx->stx_rdev_minor == minor(st->st_rdev);
    say("%s: basic mask %s, fields match stat %s, type %o", label,
        YN((sx->stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS), YN(same), st->st_mode & S_IFMT);
}

int main(int argc, char **argv) {
    (void)argc;
    char self[4096], dir[4096], root[4200], proc[4200];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(dir, sizeof dir, "%s", dirname(self));
    snprintf(root, sizeof root, "%s/..", dir);
    snprintf(proc, sizeof proc, "%s/../proc", dir);

    struct statx sx;
    struct stat st;
    const char *paths[] = {dir, root, proc, argv[0]};
    const char *labels[] = {"own dir", "root", "proc", "self"};
    for (int i = 0; i < 4; i++) {
        memset(&sx, 0xff, sizeof sx);
        long r = do_statx(AT_FDCWD, paths[i], 0, STATX_BASIC_STATS, &sx);
        stat(paths[i], &st);
        if (r != 0) say("%s: statx %ld errno %s", labels[i], r, errname(errno));
        else compare(labels[i], &sx, &st);
    }

    /* By descriptor, with an empty path. */
    int fd = open(argv[0], O_RDONLY);
    fstat(fd, &st);
    REPORT("statx fd", do_statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
    compare("fd", &sx, &st);
    /* Relative to a directory descriptor. */
    int dfd = open(root, O_RDONLY | O_DIRECTORY);
    REPORT("statx at dirfd", do_statx(dfd, "proc", AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_INO, &sx));
    stat(proc, &st);
    say("dirfd ino matches: %s", YN(sx.stx_ino == st.st_ino));
    /* The current directory. */
    REPORT("statx cwd", do_statx(AT_FDCWD, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
    stat(".", &st);
    say("cwd ino matches: %s", YN(sx.stx_ino == st.st_ino));

    REPORT("statx bad flag", do_statx(AT_FDCWD, dir, 0x1, STATX_BASIC_STATS, &sx));
    REPORT("statx both syncs", do_statx(AT_FDCWD, dir, AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, 0, &sx));
    REPORT("statx reserved mask", do_statx(AT_FDCWD, dir, 0, 0x80000000u, &sx));
    REPORT("statx missing", do_statx(AT_FDCWD, "/no/such/file", 0, STATX_BASIC_STATS, &sx));
    REPORT("statx empty path", do_statx(AT_FDCWD, "", 0, STATX_BASIC_STATS, &sx));
    REPORT("statx bad fd", do_statx(999, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
    REPORT("statx bad buffer", do_statx(AT_FDCWD, dir, 0, STATX_BASIC_STATS, (void *)8));

    struct statfs a, b;
    REPORT("statfs", statfs(root, &a));
    say("f_bsize > 0: %s, f_namelen > 0: %s", YN(a.f_bsize > 0), YN(a.f_namelen > 0));
    REPORT("fstatfs", fstatfs(dfd, &b));
    say("same file system: %s", YN(a.f_type == b.f_type && a.f_bsize == b.f_bsize && a.f_blocks == b.f_blocks));
    REPORT("fstatfs file", fstatfs(fd, &b));
    say("file on the same file system: %s", YN(a.f_type == b.f_type));
    REPORT("statfs missing", statfs("/no/such/dir", &a));
    REPORT("fstatfs bad fd", fstatfs(999, &a));
    REPORT("statfs bad buffer", syscall(SYS_statfs, root, (void *)8));
    return 0;
}
