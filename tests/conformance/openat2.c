/* openat2: the open_how size and field checks, and each RESOLVE_* flag
 * on relative, absolute, `..`, symlinked and /proc magic-link paths, in
 * a scratch tree. */
#include "conf.h"
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/stat.h>

static int dfd;

static long o2(int dir, const char *path, unsigned long long flags, unsigned long long mode,
               unsigned long long resolve) {
    struct open_how how = {.flags = flags, .mode = mode, .resolve = resolve};
    return syscall(SYS_openat2, dir, path, &how, sizeof how);
}

/* Opens and says what was reached: the file's first bytes, or the errno. */
static void try(const char *what, int dir, const char *path, unsigned long long flags, unsigned long long resolve) {
    long fd = o2(dir, path, flags, 0, resolve);
    if (fd < 0) {
        say("%s: %s", what, errname(errno));
        return;
    }
    char buf[16] = {0};
    struct stat st;
    fstat(fd, &st);
    if (S_ISREG(st.st_mode) && !(flags & O_PATH)) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
    } else {
        snprintf(buf, sizeof buf, S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "other");
    }
    say("%s: ok %s", what, buf);
    close(fd);
}

int main(void) {
    char dir[] = "/tmp/openat2-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir)) return 1;
    mkdir("sub", 0755);
    int f = open("file", O_WRONLY | O_CREAT, 0644);
    if (write(f, "top\n", 4) != 4) return 1;
    close(f);
    f = open("sub/f2", O_WRONLY | O_CREAT, 0644);
    if (write(f, "inner\n", 6) != 6) return 1;
    close(f);
    if (symlink("sub", "link_rel") || symlink("/file", "link_abs") || symlink("../..", "sub/link_up") ||
        symlink("loop2", "loop1") || symlink("loop1", "loop2") || symlink("made", "dangling"))
        return 1;
    dfd = open(".", O_RDONLY | O_DIRECTORY);

    try("plain", dfd, "file", O_RDONLY, 0);
    struct open_how how = {.flags = O_RDONLY};
    struct {
        struct open_how how;
        unsigned long long extra;
    } big = {how, 0};
    say("size 0: %s", syscall(SYS_openat2, dfd, "file", &how, 0) < 0 ? errname(errno) : "ok");
    say("size 16: %s", syscall(SYS_openat2, dfd, "file", &how, 16) < 0 ? errname(errno) : "ok");
    long fd = syscall(SYS_openat2, dfd, "file", &big, sizeof big);
    say("size 32, zero tail: %s", fd < 0 ? errname(errno) : "ok");
    if (fd >= 0) close(fd);
    big.extra = 1;
    say("size 32, non-zero tail: %s", syscall(SYS_openat2, dfd, "file", &big, sizeof big) < 0 ? errname(errno) : "ok");
    say("unknown flag: %s", o2(dfd, "file", 1ULL << 40, 0, 0) < 0 ? errname(errno) : "ok");
    say("mode without O_CREAT: %s", o2(dfd, "file", O_RDONLY, 0644, 0) < 0 ? errname(errno) : "ok");
    say("mode above 07777: %s", o2(dfd, "new", O_CREAT | O_WRONLY, 010000, 0) < 0 ? errname(errno) : "ok");
    say("unknown resolve: %s", o2(dfd, "file", O_RDONLY, 0, 0x100) < 0 ? errname(errno) : "ok");
    say("beneath and in-root: %s",
        o2(dfd, "file", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT) < 0 ? errname(errno) : "ok");

    try("beneath, sub/../file", dfd, "sub/../file", O_RDONLY, RESOLVE_BENEATH);
    try("beneath, ../x", dfd, "../x", O_RDONLY, RESOLVE_BENEATH);
    try("beneath, sub/../../x", dfd, "sub/../../x", O_RDONLY, RESOLVE_BENEATH);
    try("beneath, absolute", dfd, "/etc/passwd", O_RDONLY, RESOLVE_BENEATH);
    try("beneath, link_rel/f2", dfd, "link_rel/f2", O_RDONLY, RESOLVE_BENEATH);
    try("beneath, link_abs", dfd, "link_abs", O_RDONLY, RESOLVE_BENEATH);
    try("beneath, sub/link_up/file", dfd, "sub/link_up/file", O_RDONLY, RESOLVE_BENEATH);
    try("beneath, dot", dfd, ".", O_RDONLY, RESOLVE_BENEATH);

    try("in-root, /file", dfd, "/file", O_RDONLY, RESOLVE_IN_ROOT);
    try("in-root, ../../file", dfd, "../../file", O_RDONLY, RESOLVE_IN_ROOT);
    try("in-root, link_abs", dfd, "link_abs", O_RDONLY, RESOLVE_IN_ROOT);
    try("in-root, sub/link_up/sub/f2", dfd, "sub/link_up/sub/f2", O_RDONLY, RESOLVE_IN_ROOT);
    try("in-root, /", dfd, "/", O_RDONLY, RESOLVE_IN_ROOT);

    try("no-symlinks, file", dfd, "file", O_RDONLY, RESOLVE_NO_SYMLINKS);
    try("no-symlinks, link_rel/f2", dfd, "link_rel/f2", O_RDONLY, RESOLVE_NO_SYMLINKS);
    try("no-symlinks, link_abs", dfd, "link_abs", O_RDONLY, RESOLVE_NO_SYMLINKS);
    try("no-symlinks, O_PATH|O_NOFOLLOW link", dfd, "link_abs", O_PATH | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);
    try("no-symlinks, O_NOFOLLOW link", dfd, "link_abs", O_RDONLY | O_NOFOLLOW, RESOLVE_NO_SYMLINKS);

    int pfd = open("file", O_RDONLY);
    char magic[64];
    snprintf(magic, sizeof magic, "/proc/self/fd/%d", pfd);
    try("magic link", AT_FDCWD, magic, O_RDONLY, 0);
    try("no-magiclinks, fd link", AT_FDCWD, magic, O_RDONLY, RESOLVE_NO_MAGICLINKS);
    try("no-magiclinks, exe", AT_FDCWD, "/proc/self/exe", O_RDONLY, RESOLVE_NO_MAGICLINKS);
    try("no-magiclinks, O_PATH|O_NOFOLLOW fd link", AT_FDCWD, magic, O_PATH | O_NOFOLLOW, RESOLVE_NO_MAGICLINKS);
    try("no-magiclinks, /proc/self/stat", AT_FDCWD, "/proc/self/comm", O_RDONLY, RESOLVE_NO_MAGICLINKS);
    try("no-symlinks, /proc/self/comm", AT_FDCWD, "/proc/self/comm", O_RDONLY, RESOLVE_NO_SYMLINKS);

    try("no-xdev, file", dfd, "sub/f2", O_RDONLY, RESOLVE_NO_XDEV);
    try("no-xdev, into /proc", AT_FDCWD, "/proc/self/comm", O_RDONLY, RESOLVE_NO_XDEV);
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY);
    try("no-xdev, within /proc", procfd, "self/comm", O_RDONLY, RESOLVE_NO_XDEV);
    try("no-xdev, out of /proc", procfd, "../tmp", O_RDONLY, RESOLVE_NO_XDEV);

    char rel[64];
    snprintf(rel, sizeof rel, "self/fd/%d", pfd);
    try("beneath, magic link", procfd, rel, O_RDONLY, RESOLVE_BENEATH);
    try("in-root, magic link", procfd, rel, O_RDONLY, RESOLVE_IN_ROOT);
    try("no-xdev, magic link to another mount", procfd, rel, O_RDONLY, RESOLVE_NO_XDEV);
    snprintf(rel, sizeof rel, "self/fd/%d", procfd);
    try("no-xdev, magic link on the mount", procfd, rel, O_RDONLY | O_DIRECTORY, RESOLVE_NO_XDEV);
    try("trailing slash on a file", dfd, "file/", O_RDONLY, RESOLVE_NO_SYMLINKS);
    try("trailing slash on a dir", dfd, "sub/", O_RDONLY, RESOLVE_NO_SYMLINKS);
    try("dirfd not a directory", pfd, "x", O_RDONLY, RESOLVE_BENEATH);
    try("loop", dfd, "loop1", O_RDONLY, 0);
    try("not a directory", dfd, "file/x", O_RDONLY, 0);
    try("missing", dfd, "nope/x", O_RDONLY, 0);
    long c = o2(dfd, "dangling", O_CREAT | O_WRONLY, 0600, RESOLVE_BENEATH);
    say("create through a dangling link: %s", c < 0 ? errname(errno) : "ok");
    struct stat st;
    say("made: %s", stat("made", &st) == 0 ? "yes" : errname(errno));
    say("cached + O_CREAT: %s", o2(dfd, "x", O_CREAT | O_WRONLY, 0600, RESOLVE_CACHED) < 0 ? errname(errno) : "ok");
    c = o2(dfd, "created", O_CREAT | O_EXCL | O_WRONLY, 0640, RESOLVE_BENEATH);
    say("create beneath: %s", c < 0 ? errname(errno) : "ok");
    stat("created", &st);
    say("mode: %o", st.st_mode & 0777 & ~0022);
    say("O_CLOEXEC: %d", (int)(fcntl(c, F_GETFD) & FD_CLOEXEC));
    c = o2(dfd, "file", O_RDONLY | O_CLOEXEC, 0, 0);
    say("O_CLOEXEC set: %d", (int)(fcntl(c, F_GETFD) & FD_CLOEXEC));

    const char *names[] = {"file", "sub/f2", "sub/link_up", "sub", "link_rel", "link_abs", "loop1", "loop2",
                           "dangling", "made", "created"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) unlink(names[i]);
    rmdir("sub");
    (void)!chdir("/");
    rmdir(dir);
    return 0;
}
