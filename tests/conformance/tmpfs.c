/* tmpfs at /dev/shm (runc's default spec mounts one there): create, write,
 * read, lseek, truncate, unlink, rename, mkdir, rmdir, symlink, link,
 * readdir, stat, chmod, chown, utimensat, and the errnos of each. Works in
 * a fresh directory of its own (natively the host's /dev/shm is shared)
 * and prints only names relative to it. Run as root in both worlds. */
#include "conf.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>

static void st(const char *path) {
    struct stat s;
    if (lstat(path, &s) != 0) {
        say("%s: lstat errno=%s", path, errname(errno));
        return;
    }
    say("%s: mode=%o nlink=%lu size=%ld blocks=%ld uid=%u gid=%u", path, s.st_mode, (unsigned long)s.st_nlink,
        (long)s.st_size, (long)s.st_blocks, s.st_uid, s.st_gid);
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
    qsort(names, n, sizeof *names, cmp);
    char line[512] = "";
    for (int i = 0; i < n; i++) {
        strcat(line, " ");
        strcat(line, names[i]);
        free(names[i]);
    }
    say("ls %s:%s", path, line);
}

static void cat(const char *path) {
    char buf[64] = "";
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        say("cat %s: errno=%s", path, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    say("cat %s: %zd \"%s\"", path, n, n > 0 ? buf : "");
}

int main(void) {
    umask(022);
    char dir[] = "/dev/shm/confXXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0) return 1;
    struct statfs sf;
    statfs(".", &sf);
    say("statfs type tmpfs: %s", YN(sf.f_type == 0x01021994));

    // Regular files: create, write, read, seek.
    int fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0666);
    say("create: %s", YN(fd >= 0));
    st("f");
    REPORT("create again O_EXCL", open("f", O_CREAT | O_EXCL | O_RDWR, 0666));
    REPORT("write", write(fd, "hello world", 11));
    REPORT("lseek set 6", lseek(fd, 6, SEEK_SET));
    char buf[64] = "";
    REPORT("read", read(fd, buf, 5));
    say("read: \"%s\"", buf);
    REPORT("lseek cur -5", lseek(fd, -5, SEEK_CUR));
    REPORT("lseek end 0", lseek(fd, 0, SEEK_END));
    REPORT("lseek end -20", lseek(fd, -20, SEEK_END));
    REPORT("lseek whence 9", lseek(fd, 0, 9));
    REPORT("pwrite", pwrite(fd, "HELLO", 5, 0));
    memset(buf, 0, sizeof buf);
    REPORT("pread", pread(fd, buf, 32, 0));
    say("pread: \"%s\"", buf);
    REPORT("pread past end", pread(fd, buf, 32, 100));
    REPORT("pwrite negative", pwrite(fd, "x", 1, -1));
    REPORT("lseek 8192", lseek(fd, 8192, SEEK_SET));
    REPORT("write after hole", write(fd, "x", 1));
    st("f");
    memset(buf, 7, sizeof buf);
    REPORT("pread hole", pread(fd, buf, 4, 4096));
    say("hole reads zeros: %s", YN(!buf[0] && !buf[1] && !buf[2] && !buf[3]));
    REPORT("ftruncate 5", ftruncate(fd, 5));
    REPORT("ftruncate -1", ftruncate(fd, -1));
    st("f");
    REPORT("fsync", fsync(fd));
    REPORT("fdatasync", fdatasync(fd));
    close(fd);
    cat("f");
    REPORT("truncate 3", truncate("f", 3));
    fd = open("f", O_WRONLY | O_APPEND);
    lseek(fd, 0, SEEK_SET);
    REPORT("append", write(fd, "!!", 2));
    close(fd);
    cat("f");
    fd = open("f", O_RDONLY);
    REPORT("write on O_RDONLY", write(fd, "x", 1));
    REPORT("ftruncate on O_RDONLY", ftruncate(fd, 0));
    close(fd);
    fd = creat("g", 0600);
    REPORT("creat write", write(fd, "gg", 2));
    close(fd);
    st("g");
    fd = open("g", O_WRONLY | O_TRUNC);
    close(fd);
    st("g");
    REPORT("open missing", open("missing", O_RDONLY));
    REPORT("open through a file", open("f/x", O_RDONLY));
    REPORT("create in missing dir", open("nope/x", O_CREAT | O_WRONLY, 0644));

    // Directories.
    REPORT("mkdir d", mkdir("d", 0755));
    st("d");
    st(".");
    REPORT("mkdir d again", mkdir("d", 0755));
    REPORT("mkdir in missing", mkdir("nope/x", 0755));
    REPORT("mkdir on file", mkdir("f", 0755));
    REPORT("open dir for writing", open("d", O_WRONLY));
    REPORT("open file O_DIRECTORY", open("f", O_RDONLY | O_DIRECTORY));
    fd = open("d", O_RDONLY | O_DIRECTORY);
    say("open dir: %s", YN(fd >= 0));
    REPORT("read dir", read(fd, buf, 8));
    close(fd);
    close(open("d/a", O_CREAT | O_WRONLY, 0644));
    fd = open("d/b", O_CREAT | O_WRONLY, 0644);
    (void)!write(fd, "bee", 3);
    close(fd);
    st("d");
    REPORT("rmdir nonempty", rmdir("d"));
    REPORT("unlink dir", unlink("d"));
    REPORT("rmdir file", rmdir("f"));
    REPORT("rmdir missing", rmdir("missing"));
    REPORT("rmdir dot", rmdir("d/."));
    REPORT("unlinkat bad flag", unlinkat(AT_FDCWD, "f", 0x1));
    list(".");
    list("d");

    // Renames.
    REPORT("rename f d/c", rename("f", "d/c"));
    st("f");
    cat("d/c");
    REPORT("rename missing", rename("missing", "x"));
    REPORT("rename dir into itself", rename("d", "d/sub"));
    REPORT("rename file onto dir", rename("d/a", "d"));
    REPORT("mkdir e", mkdir("e", 0700));
    REPORT("rename dir onto file", rename("e", "d/a"));
    REPORT("rename dir onto nonempty dir", rename("e", "d"));
    REPORT("mkdir g2", mkdir("g2", 0755));
    REPORT("rename dir onto empty dir", rename("e", "g2"));
    st("e");
    st("g2");
    REPORT("renameat2 noreplace", syscall(SYS_renameat2, AT_FDCWD, "d/a", AT_FDCWD, "d/b", 1));
    REPORT("renameat2 noreplace new", syscall(SYS_renameat2, AT_FDCWD, "d/a", AT_FDCWD, "d/a2", 1));
    REPORT("rename replaces", rename("d/a2", "d/b"));
    cat("d/b");
    REPORT("rename to itself", rename("d/c", "d/c"));
    REPORT("rename across mounts", rename("d/c", "/tmp/c"));

    // Symlinks and hard links.
    REPORT("symlink", symlink("d/c", "l"));
    REPORT("symlink exists", symlink("x", "l"));
    memset(buf, 0, sizeof buf);
    REPORT("readlink", readlink("l", buf, sizeof buf));
    say("readlink: \"%s\"", buf);
    REPORT("readlink file", readlink("g", buf, sizeof buf));
    st("l");
    cat("l");
    REPORT("open O_NOFOLLOW link", open("l", O_RDONLY | O_NOFOLLOW));
    REPORT("symlink dangling", symlink("nowhere", "dl"));
    cat("dl");
    REPORT("create through dangling", open("dl", O_CREAT | O_EXCL | O_WRONLY, 0644));
    REPORT("link", link("d/c", "h"));
    st("h");
    REPORT("link exists", link("d/c", "g"));
    REPORT("link dir", link("d", "dd"));
    REPORT("link across mounts", link("d/c", "/tmp/c"));
    fd = open("h", O_RDONLY);
    REPORT("unlink d/c", unlink("d/c"));
    REPORT("unlink again", unlink("d/c"));
    st("h");
    memset(buf, 0, sizeof buf);
    REPORT("unlink h while open", unlink("h"));
    REPORT("read unlinked", read(fd, buf, sizeof buf - 1));
    say("read unlinked: \"%s\"", buf);
    close(fd);

    // Attributes.
    REPORT("chmod", chmod("g", 04751));
    st("g");
    fd = open("g", O_RDONLY);
    REPORT("fchmod", fchmod(fd, 0640));
    REPORT("fchown", fchown(fd, 1000, 1000));
    close(fd);
    st("g");
    REPORT("chown", chown("g", 1001, -1));
    REPORT("lchown link", lchown("l", 7, 8));
    st("l");
    REPORT("chmod missing", chmod("missing", 0644));
    struct timespec ts[2] = {{500000000, 1}, {1000000000, 2}};
    REPORT("utimensat", utimensat(AT_FDCWD, "g", ts, 0));
    struct stat s;
    stat("g", &s);
    say("times: atime=%ld.%ld mtime=%ld.%ld", (long)s.st_atime, s.st_atim.tv_nsec, (long)s.st_mtime,
        s.st_mtim.tv_nsec);
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_nsec = UTIME_NOW;
    REPORT("utimensat omit/now", utimensat(AT_FDCWD, "g", ts, 0));
    stat("g", &s);
    say("atime kept: %s, mtime now: %s", YN(s.st_atime == 500000000), YN(s.st_mtime > 1000000000));
    ts[1].tv_nsec = 2000000000;
    REPORT("utimensat bad nsec", utimensat(AT_FDCWD, "g", ts, 0));

    // Clean up: the directory must be empty to go.
    list(".");
    REPORT("rmdir top nonempty", rmdir(dir));
    unlink("d/b");
    unlink("d/a");
    rmdir("d");
    rmdir("g2");
    unlink("l");
    unlink("dl");
    unlink("g");
    list(".");
    REPORT("rmdir top", rmdir(dir));
    return 0;
}
