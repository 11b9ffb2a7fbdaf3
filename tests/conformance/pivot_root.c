/* pivot_root(2) into a tmpfs, in children with their own mount namespace
 * (natively the program first makes its own private one, so the host is
 * untouched; run as root). First with a put_old directory: Linux's errors
 * (ENOTDIR, ENOENT, EINVAL for a new_root that is no mount point and for a
 * put_old outside it), the working directory following new_root, the old
 * root reachable at put_old until a lazy umount2, a proc mount and execve
 * in the new root, a sibling process whose working directory follows, and
 * mountinfo of what is left. Then pivot_root(".", ".") followed by
 * umount2(".", MNT_DETACH), and runc's own sequence of the same.
 * expect-exit: 0 */
#include "conf.h"
#include "scratch.h"
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#define TMPFS_MAGIC 0x01021994

static int pivot_root(const char *new_root, const char *put_old) {
    return syscall(SYS_pivot_root, new_root, put_old);
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

/* The mount points and types of this namespace, from mountinfo. */
static void mountinfo(const char *label) {
    static char data[1 << 16];
    int fd = open("/proc/self/mountinfo", O_RDONLY);
    if (fd < 0) {
        say("%s: mountinfo %s", label, errname(errno));
        return;
    }
    size_t len = 0;
    ssize_t n;
    while (len < sizeof data - 1 && (n = read(fd, data + len, sizeof data - 1 - len)) > 0) len += n;
    close(fd);
    data[len] = 0;
    char *save;
    for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *f[32], *s2;
        int k = 0;
        for (char *w = strtok_r(l, " ", &s2); w && k < 32; w = strtok_r(NULL, " ", &s2)) f[k++] = w;
        int sep = 6;
        while (sep < k && strcmp(f[sep], "-") != 0) sep++;
        say("%s: %s %s", label, k > 4 ? f[4] : "?", sep + 1 < k ? f[sep + 1] : "?");
    }
}

static int entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void with_put_old(void) {
    say("unshare: %s", R(unshare(CLONE_NEWNS)));
    mkdir(at("nr"), 0755);
    mkdir(at("other"), 0755);
    say("mount tmpfs nr: %s", R(mount("none", at("nr"), "tmpfs", 0, "mode=755")));
    say("mount tmpfs other: %s", R(mount("none", at("other"), "tmpfs", 0, NULL)));
    mkdir(at("nr/old"), 0755);
    mkdir(at("nr/proc"), 0755);
    put(at("nr/hello"), "new root");
    say("copy the program: %s", R(copy_file("/proc/self/exe", at("nr/prog"))));

    say("new_root a file: %s", R(pivot_root(at("nr/hello"), at("nr/old"))));
    say("put_old missing: %s", R(pivot_root(at("nr"), at("nr/missing"))));
    say("new_root no mount point: %s", R(pivot_root(at("nr/old"), at("nr/old"))));
    say("put_old outside new_root: %s", R(pivot_root(at("nr"), at("other"))));

    /* A sibling in the namespace, working in the old root: it follows. */
    int go[2], ready[2];
    if (pipe(go) < 0 || pipe(ready) < 0) return;
    pid_t sibling = fork();
    if (sibling == 0) {
        say("sibling: chdir %s", R(chdir(top)));
        (void)!write(ready[1], "r", 1);
        char c;
        (void)!read(go[0], &c, 1);
        char wd[512], shown[600];
        if (!getcwd(wd, sizeof wd)) snprintf(wd, sizeof wd, "%s", errname(errno));
        char *t = strstr(wd, top);
        if (t) snprintf(shown, sizeof shown, "%.*sTOP%s", (int)(t - wd), wd, t + strlen(top));
        else snprintf(shown, sizeof shown, "%s", wd);
        char hello[64];
        snprintf(hello, sizeof hello, "%s", slurp("/hello"));
        say("sibling: cwd %s, /hello %s, marker %s", shown, hello, slurp("marker"));
        _exit(0);
    }
    char c;
    (void)!read(ready[0], &c, 1);
    say("chdir nr: %s", R(chdir(at("nr"))));
    say("pivot_root: %s", R(pivot_root(at("nr"), at("nr/old"))));
    (void)!write(go[1], "g", 1);
    waitpid(sibling, NULL, 0);
    char cwd[512];
    say("cwd: %s", getcwd(cwd, sizeof cwd) ? cwd : errname(errno));
    say("/hello: %s", slurp("/hello"));
    int hello = open("/hello", O_RDONLY);
    char old[600];
    snprintf(old, sizeof old, "/old%s", at("marker"));
    say("old root's file at put_old: %s", slurp(old));
    say("mount proc: %s", R(mount("proc", "/proc", "proc", 0, NULL)));
    char link[64], target[512] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", hello);
    say("a file of the new root is %s", readlink(link, target, sizeof target - 1) < 0 ? errname(errno) : target);
    close(hello);
    struct statfs sf;
    statfs("/", &sf);
    say("/ is tmpfs: %s", sf.f_type == TMPFS_MAGIC ? "yes" : "no");
    say("umount2 /old: %s", R(umount2("/old", 0)));
    say("umount2 /old MNT_DETACH: %s", R(umount2("/old", MNT_DETACH)));
    say("old root gone: %s, /old entries %d", R(access(old, F_OK)), entries("/old"));
    mountinfo("left");

    int p[2];
    if (pipe(p) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            dup2(p[1], 1);
            execl("/prog", "/prog", "child-exec", (char *)NULL);
            (void)!write(1, errname(errno), strlen(errname(errno)));
            _exit(0);
        }
        close(p[1]);
        char buf[32] = {0};
        (void)!read(p[0], buf, sizeof buf - 1);
        waitpid(pid, NULL, 0);
        say("execve /prog in the new root: %s", buf);
    }
}

static void dot_dot(void) {
    say("unshare: %s", R(unshare(CLONE_NEWNS)));
    mkdir(at("nr2"), 0755);
    say("mount tmpfs nr2: %s", R(mount("none", at("nr2"), "tmpfs", 0, NULL)));
    put(at("nr2/hello2"), "runc's way");
    mkdir(at("nr2/proc"), 0755);
    say("chdir nr2: %s", R(chdir(at("nr2"))));
    say("pivot_root(\".\", \".\"): %s", R(pivot_root(".", ".")));
    say("umount2(\".\", MNT_DETACH): %s", R(umount2(".", MNT_DETACH)));
    say("chdir /: %s", R(chdir("/")));
    char cwd[512];
    say("cwd: %s", getcwd(cwd, sizeof cwd) ? cwd : errname(errno));
    say("/hello2: %s", slurp("/hello2"));
    say("entries of /: %d", entries("/"));
    say("mount proc: %s", R(mount("proc", "/proc", "proc", 0, NULL)));
    mountinfo("left");
}

/* runc's own sequence (libcontainer's pivotRoot): descriptors of both
 * roots, fchdir to the new one, pivot_root(".", "."), fchdir back to the
 * old one (now on top), make it a slave, unmount it lazily, chdir("/"). */
static void runc_way(void) {
    say("unshare: %s", R(unshare(CLONE_NEWNS)));
    mkdir(at("nr3"), 0755);
    say("mount tmpfs nr3: %s", R(mount("none", at("nr3"), "tmpfs", 0, NULL)));
    put(at("nr3/hello3"), "runc");
    int oldroot = open("/", O_DIRECTORY | O_RDONLY);
    int newroot = open(at("nr3"), O_DIRECTORY | O_RDONLY);
    say("fchdir newroot: %s", R(fchdir(newroot)));
    say("pivot_root(\".\", \".\"): %s", R(pivot_root(".", ".")));
    say("fchdir oldroot: %s", R(fchdir(oldroot)));
    say("MS_SLAVE|MS_REC on .: %s", R(mount("", ".", "", MS_SLAVE | MS_REC, "")));
    say("umount2(\".\", MNT_DETACH): %s", R(umount2(".", MNT_DETACH)));
    say("chdir /: %s", R(chdir("/")));
    close(oldroot);
    close(newroot);
    say("/hello3: %s, entries of /: %d", slurp("/hello3"), entries("/"));
}

/* A directory of the root bound onto itself becomes a mount point to
 * pivot into: its links, relative and absolute, resolve in it. */
static void bind_self(void) {
    say("unshare: %s", R(unshare(CLONE_NEWNS)));
    mkdir(at("br"), 0755);
    mkdir(at("br/old"), 0755);
    mkdir(at("br/dir"), 0755);
    put(at("br/dir/target"), "through the link");
    say("symlinks: %s %s %s", R(symlink("dir/target", at("br/rel"))), R(symlink("/dir/target", at("br/abs"))),
        R(symlink("../dir", at("br/old/up"))));
    say("bind br on itself: %s", R(mount(at("br"), at("br"), NULL, MS_BIND, NULL)));
    say("pivot_root: %s", R(pivot_root(at("br"), at("br/old"))));
    char rel[64];
    snprintf(rel, sizeof rel, "%s", slurp("/rel"));
    say("/rel: %s, /abs: %s", rel, slurp("/abs"));
    say("umount2 /old MNT_DETACH: %s", R(umount2("/old", MNT_DETACH)));
    say("/old/up/target: %s", slurp("/old/up/target"));
}

static void in_child(void (*f)(void)) {
    pid_t pid = fork();
    if (pid == 0) {
        f();
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    say("child exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

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

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child-exec") == 0) {
        (void)!write(1, "ran", 3);
        return 0;
    }
    say("unshare(CLONE_NEWNS): %s", R(unshare(CLONE_NEWNS)));
    say("make / rprivate: %s", R(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)));
    strcpy(top, "/tmp/pivot-conf.XXXXXX");
    if (!mkdtemp(top)) {
        say("mkdtemp: %s", errname(errno));
        return 1;
    }
    put(at("marker"), "old root");
    in_child(with_put_old);
    in_child(dot_dot);
    in_child(runc_way);
    in_child(bind_self);
    struct stat st;
    say("parent still sees nr/hello: %s, marker: %s", R(stat(at("nr/hello"), &st)), slurp(at("marker")));
    remove_tree(top);
    say("scratch tree removed: %s", access(top, F_OK) < 0 && errno == ENOENT ? "yes" : "no");
    return 0;
}
