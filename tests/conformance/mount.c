/* mount(2), umount2(2) and mount namespaces, in a scratch tree under /tmp
 * (run as root). Natively the program first enters a private mount
 * namespace (unshare(CLONE_NEWNS), then "/" made rprivate) so the host's
 * mounts are untouched; inside moat the same calls make a private copy of
 * the sandbox's table. Covered: the errors (ENOENT, ENOTDIR, ENODEV,
 * EINVAL, EBUSY, EPERM without CAP_SYS_ADMIN), tmpfs with size= and mode=
 * hiding what was under it until unmounted, a file kept open across a
 * lazy unmount, bind mounts of a directory and of a file, a read-only
 * bind remount (EROFS, EEXIST first for creations), noexec (execve
 * EACCES) and its removal, a proc mount, propagation changes, MS_MOVE, a
 * child's namespace invisible to its parent, and the mountinfo and mounts
 * lines of the new mounts (the fields that do not depend on the host).
 * expect-exit: 0 */
#include "conf.h"
#include "scratch.h"
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <dirent.h>

#define TMPFS_MAGIC 0x01021994
#define PROC_SUPER_MAGIC 0x9fa0

/* The line of `file` (mountinfo or mounts) for mount point `point`, the
 * last one (the top of a stack); fields split in place into `f`. */
static int mount_line(const char *file, const char *point, char **f, int max) {
    static char data[1 << 16];
    static char line[2048];
    int fd = open(file, O_RDONLY);
    if (fd < 0) return 0;
    size_t len = 0;
    ssize_t n;
    while (len < sizeof data - 1 && (n = read(fd, data + len, sizeof data - 1 - len)) > 0) len += n;
    close(fd);
    data[len] = 0;
    int found = 0;
    int pos = strstr(file, "mountinfo") ? 4 : 1;
    for (char *l = data; *l;) {
        char *nl = strchr(l, '\n');
        size_t ll = nl ? (size_t)(nl - l) : strlen(l);
        char copy[2048];
        snprintf(copy, sizeof copy, "%.*s", (int)ll, l);
        char *save, *w = strtok_r(copy, " ", &save);
        for (int i = 0; w && i < pos; i++) w = strtok_r(NULL, " ", &save);
        if (w && strcmp(w, point) == 0) {
            snprintf(line, sizeof line, "%.*s", (int)ll, l);
            found = 1;
        }
        l = nl ? nl + 1 : l + ll;
    }
    if (!found) return 0;
    int k = 0;
    char *save;
    for (char *w = strtok_r(line, " ", &save); w && k < max; w = strtok_r(NULL, " ", &save)) f[k++] = w;
    return k;
}

/* What mountinfo says of `point`: the mount options and, after the
 * separator, the type; and whether the file system options hold `want`. */
static void info(const char *label, const char *point, const char *want) {
    char *f[32];
    int n = mount_line("/proc/self/mountinfo", point, f, 32);
    if (n < 10) {
        say("%s: no mountinfo line", label);
        return;
    }
    int sep = 6;
    while (sep < n && strcmp(f[sep], "-") != 0) sep++;
    if (sep + 3 >= n) {
        say("%s: short mountinfo line", label);
        return;
    }
    char opts[256];
    snprintf(opts, sizeof opts, ",%s,", f[sep + 3]);
    char key[64];
    snprintf(key, sizeof key, ",%s,", want ? want : "");
    say("%s: mountinfo opts %s type %s parent-is-number %s fsopt %s %s", label, f[5], f[sep + 1],
        atoi(f[1]) > 0 ? "yes" : "no", want ? want : "-", want ? (strstr(opts, key) ? "yes" : "no") : "-");
}

/* Where /proc/self/fd/FD leads, the scratch tree shown as TOP. */
static const char *fd_path(int fd) {
    static char out[600];
    char link[64], buf[512] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    if (readlink(link, buf, sizeof buf - 1) < 0) return errname(errno);
    size_t n = strlen(top);
    if (strncmp(buf, top, n) == 0) snprintf(out, sizeof out, "TOP%s", buf + n);
    else snprintf(out, sizeof out, "%s", buf);
    return out;
}

static int copy_file(const char *from, const char *to) {
    int in = open(from, O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0) return -1;
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n) return -1;
    close(in);
    close(out);
    return 0;
}

/* execve of `path` in a child: "ran" or the errno. */
static const char *try_exec(const char *path) {
    int p[2];
    if (pipe(p) < 0) return "pipe";
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        execl(path, path, "child-exec", (char *)NULL);
        int e = errno;
        (void)!write(1, errname(e), strlen(errname(e)));
        _exit(0);
    }
    close(p[1]);
    static char buf[64];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    close(p[0]);
    waitpid(pid, NULL, 0);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

/* Removes the scratch tree. */
static void remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        remove_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

static void no_cap_sys_admin(void) {
    pid_t pid = fork();
    if (pid == 0) {
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2];
        memset(d, 0, sizeof d);
        syscall(SYS_capget, &h, d);
        d[0].effective &= ~(1u << CAP_SYS_ADMIN);
        if (syscall(SYS_capset, &h, d) < 0) {
            say("capset: %s", errname(errno));
            _exit(1);
        }
        say("no CAP_SYS_ADMIN: mount %s umount2 %s pivot_root %s unshare(NEWNS) %s",
            R(mount("none", at("m"), "tmpfs", 0, NULL)), R(umount2(at("m"), 0)),
            R(syscall(SYS_pivot_root, at("m"), at("m"))), R(unshare(CLONE_NEWNS)));
        say("no CAP_SYS_ADMIN, missing target: mount %s umount2 %s", R(mount("none", at("missing"), "tmpfs", 0, NULL)),
            R(umount2(at("missing"), 0)));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child-exec") == 0) {
        (void)!write(1, "ran", 3);
        return 0;
    }
    say("unshare(CLONE_NEWNS): %s", R(unshare(CLONE_NEWNS)));
    say("make / rprivate: %s", R(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)));
    strcpy(top, "/tmp/mount-conf.XXXXXX");
    if (!mkdtemp(top)) {
        say("mkdtemp: %s", errname(errno));
        return 1;
    }
    mkdir(at("m"), 0755);
    put(at("m/old"), "under");

    /* Errors before anything is mounted. */
    say("target missing: %s", R(mount("none", at("missing"), "tmpfs", 0, NULL)));
    say("target below a file: %s", R(mount("none", at("m/old/x"), "tmpfs", 0, NULL)));
    say("tmpfs on a file: %s", R(mount("none", at("m/old"), "tmpfs", 0, NULL)));
    say("unknown type: %s", R(mount("none", at("m"), "no-such-fs", 0, NULL)));
    say("umount2 of a plain directory: %s", R(umount2(at("m"), 0)));
    say("umount2 with an unknown flag: %s", R(umount2(at("m"), 0x100)));
    say("umount2 MNT_EXPIRE|MNT_DETACH: %s", R(umount2(at("m"), MNT_EXPIRE | MNT_DETACH)));
    no_cap_sys_admin();

    /* tmpfs with size and mode, hiding the directory's contents. */
    say("mount tmpfs size=1m,mode=0755: %s", R(mount("none", at("m"), "tmpfs", 0, "size=1m,mode=0755")));
    struct stat st;
    stat(at("m"), &st);
    say("root mode %o", st.st_mode & 07777);
    struct statfs sf;
    statfs(at("m"), &sf);
    say("statfs: tmpfs %s, %llu bytes", sf.f_type == TMPFS_MAGIC ? "yes" : "no",
        (unsigned long long)sf.f_blocks * sf.f_bsize);
    say("old file under the mount: %s", slurp(at("m/old")));
    put(at("m/new"), "on tmpfs");
    say("new file: %s", slurp(at("m/new")));
    info("tmpfs", at("m"), "size=1024k");
    info("tmpfs", at("m"), "mode=755");
    char *f[8];
    int n = mount_line("/proc/self/mounts", at("m"), f, 8);
    say("mounts: %d fields, source %s type %s opts start %.13s", n, n > 3 ? f[0] : "-", n > 3 ? f[2] : "-",
        n > 3 ? f[3] : "-");
    say("umount2 MNT_EXPIRE first: %s", R(umount2(at("m"), MNT_EXPIRE)));

    /* A mount below makes the one above busy; so does the working directory. */
    mkdir(at("m/sub"), 0755);
    say("mount on m/sub: %s", R(mount("none", at("m/sub"), "tmpfs", 0, NULL)));
    say("umount2 m with a mount below: %s", R(umount2(at("m"), 0)));
    say("umount2 m/sub: %s", R(umount2(at("m/sub"), 0)));
    say("umount2 m/sub again: %s", R(umount2(at("m/sub"), 0)));
    chdir(at("m"));
    say("umount2 of the working directory: %s", R(umount2(at("m"), 0)));
    chdir("/");

    /* A lazy unmount: the open file keeps working, the old contents return. */
    int fd = open(at("m/new"), O_RDWR);
    say("umount2 MNT_DETACH with a file open: %s", R(umount2(at("m"), MNT_DETACH)));
    char buf[64] = {0};
    say("read through the open file: %s (%s)", R(pread(fd, buf, sizeof buf - 1, 0)), buf);
    say("write through the open file: %s", R(pwrite(fd, "more", 4, 0)));
    close(fd);
    char old_text[64];
    snprintf(old_text, sizeof old_text, "%s", slurp(at("m/old")));
    say("after unmount: old %s, new %s", old_text, slurp(at("m/new")));

    /* Bind mounts: a directory, then a file. */
    mkdir(at("src"), 0755);
    mkdir(at("b"), 0755);
    put(at("src/f"), "src file");
    say("bind src on b: %s", R(mount(at("src"), at("b"), NULL, MS_BIND, NULL)));
    say("b/f: %s", slurp(at("b/f")));
    put(at("b/g"), "written via b");
    say("src/g: %s", slurp(at("src/g")));
    say("rename from b to src: %s", R(rename(at("b/g"), at("src/g2"))));
    put(at("file1"), "one");
    put(at("file2"), "two");
    say("bind a file: %s", R(mount(at("file1"), at("file2"), NULL, MS_BIND, NULL)));
    say("file2 shows: %s", slurp(at("file2")));
    say("bind a directory on a file: %s", R(mount(at("src"), at("file2"), NULL, MS_BIND, NULL)));
    say("bind a file on a directory: %s", R(mount(at("file1"), at("m"), NULL, MS_BIND, NULL)));
    say("umount2 file2: %s", R(umount2(at("file2"), 0)));
    say("file2 shows: %s", slurp(at("file2")));

    /* Read-only remount of the bind mount: the source stays writable. */
    say("remount b read-only: %s", R(mount(NULL, at("b"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));
    say("create on b: %s", R(open(at("b/h"), O_WRONLY | O_CREAT, 0644)));
    say("open b/f O_RDWR: %s", R(open(at("b/f"), O_RDWR)));
    fd = open(at("b/f"), O_RDONLY);
    say("open b/f O_RDONLY: %s", fd < 0 ? errname(errno) : "0");
    say("its path: %s", fd_path(fd));
    say("fchmod through it: %s", R(fchmod(fd, 0600)));
    struct statvfs fsv;
    say("fstatvfs read-only: %s", fstatvfs(fd, &fsv) == 0 && (fsv.f_flag & ST_RDONLY) ? "yes" : "no");
    close(fd);
    int dfd = open(at("b"), O_RDONLY | O_DIRECTORY);
    fd = openat(dfd, "f", O_RDONLY);
    say("openat in b: %s, path %s", fd < 0 ? errname(errno) : "0", fd_path(fd));
    close(fd);
    close(dfd);
    say("mkdir b/d: %s, mkdir b/f: %s", R(mkdir(at("b/d"), 0755)), R(mkdir(at("b/f"), 0755)));
    say("unlink b/f: %s", R(unlink(at("b/f"))));
    say("chmod b/f: %s", R(chmod(at("b/f"), 0600)));
    say("rename in b: %s", R(rename(at("b/f"), at("b/f2"))));
    say("symlink in b: %s", R(symlink("f", at("b/l"))));
    struct statvfs sv;
    statvfs(at("b"), &sv);
    say("statvfs b read-only: %s", sv.f_flag & ST_RDONLY ? "yes" : "no");
    put(at("src/h"), "via src");
    say("src still writable: %s", slurp(at("src/h")));
    {
        char *g[12];
        int k = mount_line("/proc/self/mountinfo", at("b"), g, 12);
        say("b in mountinfo: %s, read-only: %s", k > 6 ? "yes" : "no", k > 6 && strncmp(g[5], "ro", 2) == 0 ? "yes" : "no");
    }
    say("remount b read-write: %s", R(mount(NULL, at("b"), NULL, MS_REMOUNT | MS_BIND, NULL)));
    put(at("b/h2"), "writable again");
    say("b/h2: %s", slurp(at("b/h2")));
    say("remount of a non-mount-point: %s", R(mount(NULL, at("src"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL)));
    say("umount2 b: %s", R(umount2(at("b"), 0)));

    /* noexec, then its removal by a remount. */
    say("mount tmpfs noexec,nosuid,nodev: %s",
        R(mount("none", at("m"), "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV, "mode=755")));
    say("copy the program: %s", R(copy_file("/proc/self/exe", at("m/prog"))));
    say("execve on noexec: %s", try_exec(at("m/prog")));
    fd = open(at("m/prog"), O_RDONLY);
    void *map = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    say("mmap PROT_EXEC on noexec: %s", map == MAP_FAILED ? errname(errno) : "0");
    if (map != MAP_FAILED) munmap(map, 4096);
    close(fd);
    statvfs(at("m"), &sv);
    say("statvfs noexec %s nosuid %s nodev %s", sv.f_flag & ST_NOEXEC ? "yes" : "no",
        sv.f_flag & ST_NOSUID ? "yes" : "no", sv.f_flag & ST_NODEV ? "yes" : "no");
    info("noexec tmpfs", at("m"), NULL);
    say("remount exec: %s", R(mount(NULL, at("m"), NULL, MS_REMOUNT | MS_BIND, NULL)));
    say("execve after remount: %s", try_exec(at("m/prog")));
    info("remounted", at("m"), NULL);

    /* Propagation changes are accepted on mount points only. */
    say("MS_PRIVATE: %s", R(mount(NULL, at("m"), NULL, MS_PRIVATE, NULL)));
    say("MS_SLAVE|MS_REC: %s", R(mount(NULL, at("m"), NULL, MS_SLAVE | MS_REC, NULL)));
    say("MS_PRIVATE|MS_SHARED: %s", R(mount(NULL, at("m"), NULL, MS_PRIVATE | MS_SHARED, NULL)));
    say("MS_PRIVATE on a directory: %s", R(mount(NULL, at("src"), NULL, MS_PRIVATE, NULL)));

    /* MS_MOVE. */
    mkdir(at("mv"), 0755);
    say("move m to mv: %s", R(mount(at("m"), at("mv"), NULL, MS_MOVE, NULL)));
    struct stat s2;
    say("mv/prog %s, m/prog %s", R(stat(at("mv/prog"), &s2)), R(stat(at("m/prog"), &s2)));
    say("move a directory that is no mount: %s", R(mount(at("src"), at("m"), NULL, MS_MOVE, NULL)));
    say("umount2 mv: %s", R(umount2(at("mv"), 0)));

    /* proc. */
    mkdir(at("p"), 0755);
    say("mount proc: %s", R(mount("proc", at("p"), "proc", 0, NULL)));
    char link[64] = {0}, want[64];
    (void)!readlink(at("p/self"), link, sizeof link - 1);
    snprintf(want, sizeof want, "%d", getpid());
    say("p/self is us: %s", strcmp(link, want) == 0 ? "yes" : "no");
    statfs(at("p"), &sf);
    say("statfs proc: %s", sf.f_type == PROC_SUPER_MAGIC ? "yes" : "no");
    info("proc", at("p"), NULL);
    say("umount2 p: %s", R(umount2(at("p"), 0)));

    /* Chrooted, mountinfo names mount points from the new root. */
    mkdir(at("proc"), 0755);
    say("mount tmpfs on p: %s, proc on proc: %s", R(mount("none", at("p"), "tmpfs", 0, NULL)),
        R(mount("proc", at("proc"), "proc", 0, NULL)));
    pid_t pid = fork();
    if (pid == 0) {
        say("chroot: %s", R(chroot(top)));
        char *h[12];
        say("chrooted mountinfo has /p: %s, the scratch path: %s", mount_line("/proc/self/mountinfo", "/p", h, 12) ? "yes" : "no",
            mount_line("/proc/self/mountinfo", at("p"), h, 12) ? "yes" : "no");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    say("umount2 p: %s, proc: %s", R(umount2(at("p"), 0)), R(umount2(at("proc"), 0)));

    /* A child's new namespace: its mounts stay its own, and its
     * /proc/PID/mountinfo shows them to the parent. */
    int ready[2], done[2];
    if (pipe(ready) < 0 || pipe(done) < 0) return 1;
    pid = fork();
    if (pid == 0) {
        int a = unshare(CLONE_NEWNS);
        int e1 = errno;
        int b = mount("none", at("m"), "tmpfs", 0, NULL);
        int e2 = errno;
        put(at("m/child"), "child");
        say("child: unshare %s mount %s sees %s", a < 0 ? errname(e1) : "0", b < 0 ? errname(e2) : "0",
            slurp(at("m/child")));
        (void)!write(ready[1], "r", 1);
        char c;
        (void)!read(done[0], &c, 1);
        _exit(0);
    }
    char c;
    (void)!read(ready[0], &c, 1);
    char theirs[64];
    snprintf(theirs, sizeof theirs, "/proc/%d/mountinfo", pid);
    char *g[12];
    say("the child's mountinfo has m: %s, ours: %s", mount_line(theirs, at("m"), g, 12) ? "yes" : "no",
        mount_line("/proc/self/mountinfo", at("m"), g, 12) ? "yes" : "no");
    (void)!write(done[1], "d", 1);
    waitpid(pid, NULL, 0);
    say("parent sees m/child: %s, m/old: %s", R(stat(at("m/child"), &s2)), slurp(at("m/old")));
    remove_tree(top);
    say("scratch tree removed: %s", access(top, F_OK) < 0 && errno == ENOENT ? "yes" : "no");
    return 0;
}
