/* Writes on a bind mount (conformance-bind: /bindwork), served by the
 * gofer: the harness binds a fresh host directory at /bindwork inside
 * moat and passes the path as argv[1]; natively argv[1] is another fresh
 * directory. Create/O_EXCL, O_TRUNC, O_APPEND (write and pwrite), rename
 * over an existing file and RENAME_NOREPLACE, unlink of an open file,
 * link, symlink/readlink/O_NOFOLLOW, mkdir/rmdir, truncate, chmod,
 * utimensat, fsync, readdir, and the errnos of each. Prints only names
 * relative to the directory. */
#include "conf.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

static void st(const char *path) {
    struct stat s;
    if (lstat(path, &s) != 0) {
        say("%s: lstat errno=%s", path, errname(errno));
        return;
    }
    /* A directory's size is the host file system's business. */
    long size = S_ISDIR(s.st_mode) ? 0 : (long)s.st_size;
    say("%s: mode=%o nlink=%lu size=%ld", path, s.st_mode, (unsigned long)s.st_nlink, size);
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        say("opendir %s: errno=%s", path, errname(errno));
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    char line[512] = "";
    for (int i = 0; i < n; i++) {
        strcat(line, " ");
        strcat(line, names[i]);
        free(names[i]);
    }
    say("ls %s:%s", path, line);
}

static void rc(const char *what, int r) {
    int e = errno;
    say("%s: %s", what, r < 0 ? errname(e) : "ok");
}

static void content(const char *path) {
    char buf[128] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        say("%s: open errno=%s", path, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    say("%s: %zd [%s]", path, n, buf);
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) != 0) {
        say("usage: bind_writes DIR");
        return 1;
    }
    umask(022);
    int fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0666);
    rc("create f", fd);
    rc("create f again O_EXCL", open("f", O_CREAT | O_EXCL | O_RDWR, 0666));
    say("write %zd", write(fd, "hello world", 11));
    char buf[32] = {0};
    say("pread %zd [%s]", pread(fd, buf, 5, 6), buf);
    say("lseek end %ld", (long)lseek(fd, 0, SEEK_END));
    rc("fsync", fsync(fd));
    rc("fdatasync", fdatasync(fd));
    close(fd);
    st("f");

    fd = open("f", O_WRONLY | O_APPEND);
    ssize_t w = write(fd, "!", 1);
    say("append %zd, pos %ld", w, (long)lseek(fd, 0, SEEK_CUR));
    say("pwrite on O_APPEND %zd", pwrite(fd, "?", 1, 0));
    rc("F_SETFL clears O_APPEND", fcntl(fd, F_SETFL, 0));
    say("pwrite at 0 %zd", pwrite(fd, "H", 1, 0));
    close(fd);
    content("f");

    fd = open("g", O_CREAT | O_WRONLY | O_TRUNC, 0600);
    say("write g %zd", write(fd, "other", 5));
    close(fd);
    rc("rename g over f", rename("g", "f"));
    content("f");
    st("g");
    fd = open("n", O_CREAT | O_WRONLY, 0644);
    close(fd);
    rc("renameat2 NOREPLACE", (int)syscall(SYS_renameat2, AT_FDCWD, "n", AT_FDCWD, "f", 1 /* RENAME_NOREPLACE */));
    rc("open O_TRUNC", fd = open("n", O_WRONLY | O_TRUNC));
    close(fd);

    /* An unlinked file stays readable through its descriptor. */
    fd = open("f", O_RDONLY);
    rc("unlink f while open", unlink("f"));
    memset(buf, 0, sizeof buf);
    say("read after unlink %zd [%s]", read(fd, buf, sizeof buf - 1), buf);
    struct stat s;
    fstat(fd, &s);
    say("fstat after unlink nlink=%lu size=%ld", (unsigned long)s.st_nlink, (long)s.st_size);
    close(fd);
    st("f");
    /* ...and writable: writes and ftruncate reach the unlinked file. */
    fd = open("u", O_CREAT | O_RDWR, 0600);
    rc("unlink u while open", unlink("u"));
    say("write to unlinked %zd", write(fd, "abc", 3));
    rc("ftruncate unlinked to 100", ftruncate(fd, 100));
    fstat(fd, &s);
    say("unlinked size=%ld", (long)s.st_size);
    close(fd);

    rc("link n l", link("n", "l"));
    st("n");
    rc("link over existing", link("n", "l"));
    rc("symlink", symlink("n", "s"));
    char target[64] = {0};
    say("readlink %zd [%s]", readlink("s", target, sizeof target - 1), target);
    rc("open s O_NOFOLLOW", open("s", O_RDONLY | O_NOFOLLOW));
    rc("open s", fd = open("s", O_RDONLY));
    close(fd);
    rc("symlink over existing", symlink("x", "s"));
    st("s");

    rc("mkdir d", mkdir("d", 0777));
    rc("mkdir d again", mkdir("d", 0777));
    st("d");
    fd = open("d/in", O_CREAT | O_WRONLY, 0644);
    close(fd);
    rc("rmdir non-empty", rmdir("d"));
    rc("rmdir a file", rmdir("n"));
    rc("unlink a directory", unlink("d"));
    rc("open dir for writing", open("d", O_WRONLY));
    rc("O_DIRECTORY on a file", open("n", O_RDONLY | O_DIRECTORY));
    rc("rename d into itself", rename("d", "d/sub"));
    rc("rename d to e", rename("d", "e"));
    list(".");
    list("e");

    rc("truncate n 4096", truncate("n", 4096));
    st("n");
    fd = open("n", O_RDWR);
    rc("ftruncate n 3", ftruncate(fd, 3));
    close(fd);
    st("n");
    rc("chmod n 0640", chmod("n", 0640));
    st("n");
    struct timespec ts[2] = {{1000000000, 0}, {1200000000, 500}};
    rc("utimensat", utimensat(AT_FDCWD, "n", ts, 0));
    stat("n", &s);
    say("times atime=%ld mtime=%ld.%ld", (long)s.st_atime, (long)s.st_mtime, (long)s.st_mtim.tv_nsec);

    /* What tar -x does to each file, and the attributes seen after each
     * step through the path and through the descriptor. */
    fd = open("t", O_WRONLY | O_CREAT | O_EXCL, 0644);
    struct stat byfd;
    fstat(fd, &byfd);
    stat("t", &s);
    say("new file: fstat owner is stat's %s, size %ld", byfd.st_uid == s.st_uid && byfd.st_gid == s.st_gid ? "yes" : "no",
        (long)s.st_size);
    say("write 10: %zd", write(fd, "0123456789", 10));
    stat("t", &s);
    fstat(fd, &byfd);
    say("size by path %ld, by fd %ld", (long)s.st_size, (long)byfd.st_size);
    rc("fchmod 0600", fchmod(fd, 0600));
    close(fd);
    rc("chown to the same owner", chown("t", s.st_uid, s.st_gid));
    struct timespec old_times[2] = {{946684800, 0}, {946684800, 0}};
    rc("utimensat", utimensat(AT_FDCWD, "t", old_times, 0));
    lstat("t", &s);
    say("t: mode %o size %ld mtime %ld", s.st_mode & 07777, (long)s.st_size, (long)s.st_mtime);
    rc("unlink t", unlink("t"));

    /* Relative to a directory descriptor of the mount (what nftw, rm -r
     * and openat users do): the descriptor names the directory on it. */
    int dfd = open("e", O_RDONLY | O_DIRECTORY);
    rc("fstatat e/in", fstatat(dfd, "in", &s, AT_SYMLINK_NOFOLLOW));
    fd = openat(dfd, "made", O_WRONLY | O_CREAT, 0600);
    rc("openat O_CREAT", fd);
    close(fd);
    rc("mkdirat", mkdirat(dfd, "sub", 0700));
    int sub = openat(dfd, "sub", O_RDONLY | O_DIRECTORY);
    rc("openat a subdirectory", sub);
    rc("unlinkat made", unlinkat(dfd, "made", 0));
    rc("unlinkat sub", unlinkat(dfd, "sub", AT_REMOVEDIR));
    char link[64], shown[4096] = {0}, want[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", dfd);
    ssize_t tn = readlink(link, shown, sizeof shown - 1);
    snprintf(want, sizeof want, "%s/e", argv[1]);
    say("fd link names the directory: %s", tn > 0 && strcmp(shown, want) == 0 ? "yes" : shown);
    rc("fchdir", fchdir(dfd));
    rc("stat in after fchdir", stat("in", &s));
    rc("chdir back", chdir(argv[1]));
    close(sub);
    close(dfd);

    rc("unlink e/in", unlink("e/in"));
    rc("rmdir e", rmdir("e"));
    rc("unlink l", unlink("l"));
    rc("unlink s", unlink("s"));
    rc("unlink n", unlink("n"));
    rc("unlink missing", unlink("n"));
    list(".");
    return 0;
}
