/* chroot(2) in a scratch tree under /tmp (run as root, natively and in
 * moat): the errors in Linux's order (ENOENT, ENOTDIR, EACCES for a
 * directory without search permission, then EPERM without
 * CAP_SYS_CHROOT), absolute paths starting at the new root, `..` stopping
 * there, getcwd outside and inside it, a relative chroot("."), children
 * inheriting the root, execve of a program inside it, symlinks (absolute,
 * or climbing with `..`) resolved inside it, and
 * /proc/PID/root as the process itself and its parent read it.
 * expect-exit: 0 */
#include "conf.h"
#include "scratch.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>


static const char *cwd(void) {
    static char buf[4200];
    if (!getcwd(buf, sizeof buf)) return errname(errno);
    if (strncmp(buf, "(unreachable)", 13) == 0) return "(unreachable)...";
    return buf;
}

/* Copies this program into the tree, for execve inside the new root. */
static void copy_self(const char *dest) {
    int in = open("/proc/self/exe", O_RDONLY);
    int out = open(dest, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) (void)!write(out, buf, n);
    close(in);
    close(out);
}

static int wait_status(pid_t pid) {
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void errors(void) {
    say("missing: %s", R(chroot(at("missing"))));
    say("a file: %s", R(chroot(at("jail/etc/hello"))));
    say("through a file: %s", R(chroot(at("jail/etc/hello/x"))));
    say("empty: %s", R(chroot("")));
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) || setuid(65534)) _exit(99);
        say("unprivileged, missing: %s", R(chroot(at("missing"))));
        say("unprivileged, a file: %s", R(chroot(at("jail/etc/hello"))));
        say("unprivileged, no search permission: %s", R(chroot(at("locked"))));
        say("unprivileged, inside it: %s", R(chroot(at("locked/in"))));
        say("unprivileged, allowed dir: %s", R(chroot(at("jail"))));
        _exit(0);
    }
    say("unprivileged child: %d", wait_status(pid));
}

static void inside(int procfd, int report, int ack) {
    struct stat jail, now;
    stat(at("jail"), &jail);
    say("chroot jail: %s", R(chroot(at("jail"))));
    say("cwd before chdir: %s", cwd());
    say("/etc/hello: %s", slurp("/etc/hello"));
    stat("/", &now);
    say("/ is the jail: %d", now.st_ino == jail.st_ino && now.st_dev == jail.st_dev);
    const char *r = R(chdir("/sub"));
    say("chdir /sub: %s cwd=%s", r, cwd());
    r = R(chdir("../.."));
    say("chdir ../..: %s cwd=%s", r, cwd());
    say("../../etc/hello: %s", slurp("../../etc/hello"));
    say("/../../etc/hello: %s", slurp("/../../etc/hello"));
    struct stat dotdot;
    stat("/..", &dotdot);
    say("/.. is /: %d", dotdot.st_ino == now.st_ino);
    say("host file hidden: %s", R(access(at("jail/etc/hello"), F_OK)));
    say("absolute link: %s", slurp("/abs/hello"));
    say("climbing relative link: %s", slurp("/sub/up/etc/hello"));
    say("link to the root's parent: %s", slurp("/sub/top/etc/hello"));
    char link[4200] = {0};
    ssize_t n = readlinkat(procfd, "self/root", link, sizeof link - 1);
    say("own /proc/self/root: %s", n < 0 ? errname(errno) : link);
    (void)!write(report, "c", 1);
    char c;
    (void)!read(ack, &c, 1); /* the parent has looked and said so */
    /* A child inherits the root. */
    pid_t pid = fork();
    if (pid == 0) {
        say("child /etc/hello: %s", slurp("/etc/hello"));
        _exit(0);
    }
    wait_status(pid);
    /* chroot(".") from inside: the root moves down. */
    say("chdir /sub: %s", R(chdir("/sub")));
    say("chroot .: %s", R(chroot(".")));
    say("/deep after chroot .: %s", slurp("/deep"));
    say("/etc/hello after chroot .: %s", slurp("/etc/hello"));
    say("cwd=%s", cwd());
    /* execve of a program inside the root. */
    pid = fork();
    if (pid == 0) {
        char *argv[] = {"/prog", "inner", NULL};
        execv("/prog", argv);
        say("execv: %s", errname(errno));
        _exit(1);
    }
    say("inner exit: %d", wait_status(pid));
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "inner") == 0) {
        say("inner runs: cwd=%s deep=%s", cwd(), slurp("/deep"));
        return 7;
    }
    snprintf(top, sizeof top, "/tmp/chroot.XXXXXX");
    if (!mkdtemp(top)) {
        say("mkdtemp: %s", errname(errno));
        return 1;
    }
    chmod(top, 0755);
    mkdir(at("jail"), 0755);
    mkdir(at("jail/etc"), 0755);
    mkdir(at("jail/sub"), 0755);
    put(at("jail/etc/hello"), "inside\n");
    put(at("jail/sub/deep"), "deep\n");
    copy_self(at("jail/sub/prog"));
    symlink("/etc", at("jail/abs"));
    symlink("../../../../..", at("jail/sub/up"));
    symlink("/..", at("jail/sub/top"));
    mkdir(at("locked"), 0700);
    mkdir(at("locked/in"), 0755);
    errors();
    int procfd = open("/proc", O_RDONLY | O_DIRECTORY);
    int sync[2], ack[2];
    (void)!pipe(sync);
    (void)!pipe(ack);
    pid_t pid = fork();
    if (pid == 0) {
        close(sync[0]);
        close(ack[1]);
        inside(procfd, sync[1], ack[0]);
        _exit(0);
    }
    close(sync[1]);
    close(ack[0]);
    char c;
    if (read(sync[0], &c, 1) == 1) {
        char path[64], link[4200] = {0};
        snprintf(path, sizeof path, "/proc/%d/root", pid);
        ssize_t n = readlink(path, link, sizeof link - 1);
        say("parent sees the child's root as the jail: %d", n > 0 && strcmp(link, at("jail")) == 0);
    }
    (void)!write(ack[1], "a", 1);
    say("child: %d", wait_status(pid));
    say("parent's root unchanged: %s", slurp(at("jail/etc/hello")));
    unlink(at("jail/sub/prog"));
    unlink(at("jail/abs"));
    unlink(at("jail/sub/up"));
    unlink(at("jail/sub/top"));
    unlink(at("jail/sub/deep"));
    unlink(at("jail/etc/hello"));
    rmdir(at("jail/sub"));
    rmdir(at("jail/etc"));
    rmdir(at("jail"));
    rmdir(at("locked/in"));
    rmdir(at("locked"));
    say("rmdir scratch: %s", R(rmdir(top)));
    return 0;
}
