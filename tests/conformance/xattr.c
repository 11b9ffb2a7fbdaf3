/* Extended attributes on the root file system (in moat the overlay;
 * natively the host's directory next to the program, a file system with
 * user xattrs) and on the /dev/shm tmpfs: set/get/list/remove by path, by
 * link and by descriptor, XATTR_CREATE/XATTR_REPLACE, size queries,
 * ERANGE/E2BIG, the namespaces (user: regular files and directories,
 * trusted: root, security: root writes), permissions as another user,
 * and a file of the image itself (in moat: copied up by the change). */
#include "conf.h"
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

static const char *en(int e) {
    switch (e) {
    case ENODATA: return "ENODATA";
    case ERANGE: return "ERANGE";
    case E2BIG: return "E2BIG";
    default: return errname(e);
    }
}

#define R(call) (((call) < 0) ? en(errno) : "0")

static char dir[4096];

static const char *at(const char *rel) {
    static char buf[2][4200];
    static int i;
    i ^= 1;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, rel);
    return buf[i];
}

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

/* The names listxattr gives, sorted (file systems order them as they
 * like), or the error. */
static void show_list(const char *label, ssize_t n, const char *buf) {
    if (n < 0) {
        say("%s: %s", label, en(errno));
        return;
    }
    char *names[32];
    int k = 0;
    for (const char *p = buf; p < buf + n && k < 32; p += strlen(p) + 1) names[k++] = (char *)p;
    qsort(names, k, sizeof *names, cmp);
    char line[1024] = "";
    for (int i = 0; i < k; i++) {
        strcat(line, " ");
        strcat(line, names[i]);
    }
    say("%s: %zd bytes:%s", label, n, line);
}

static void get(const char *label, const char *path, const char *name) {
    char buf[256];
    ssize_t n = getxattr(path, name, buf, sizeof buf - 1);
    if (n < 0) {
        say("%s: %s", label, en(errno));
        return;
    }
    buf[n] = 0;
    say("%s: [%s]", label, buf);
}

static void basics(void) {
    const char *f = strdup(at("f"));
    close(open(f, O_CREAT | O_WRONLY, 0644));
    char buf[1024];
    say("set user.a: %s", R(setxattr(f, "user.a", "v1", 2, 0)));
    say("size query: %zd", getxattr(f, "user.a", NULL, 0));
    get("get user.a", f, "user.a");
    say("short buffer: %s", R(getxattr(f, "user.a", buf, 1)));
    say("create existing: %s", R(setxattr(f, "user.a", "v2", 2, XATTR_CREATE)));
    say("replace missing: %s", R(setxattr(f, "user.b", "v2", 2, XATTR_REPLACE)));
    say("replace existing: %s", R(setxattr(f, "user.a", "value2", 6, XATTR_REPLACE)));
    get("get user.a", f, "user.a");
    say("bad flags: %s", R(setxattr(f, "user.a", "x", 1, 4)));
    get("get missing", f, "user.nope");
    say("empty value: %s", R(setxattr(f, "user.empty", "", 0, 0)));
    say("empty value size: %zd", getxattr(f, "user.empty", NULL, 0));
    memset(buf, 'x', sizeof buf);
    say("1000-byte value: %s", R(setxattr(f, "user.big", buf, 1000, 0)));
    say("its size: %zd", getxattr(f, "user.big", NULL, 0));
    char *huge = calloc(1, 65537);
    say("65537-byte value: %s", R(setxattr(f, "user.huge", huge, 65537, 0)));
    free(huge);
    say("empty name: %s", R(setxattr(f, "", "x", 1, 0)));
    char name[300] = "user.";
    memset(name + 5, 'n', 250);
    name[255] = 0;
    say("255-byte name: %s", R(setxattr(f, name, "x", 1, 0)));
    say("  get it: %zd", getxattr(f, name, NULL, 0));
    say("  remove it: %s", R(removexattr(f, name)));
    name[255] = 'n';
    name[256] = 0;
    say("256-byte name: %s", R(setxattr(f, name, "x", 1, 0)));
    say("256-byte name get: %s", R(getxattr(f, name, buf, sizeof buf)));
    say("unknown namespace: %s", R(setxattr(f, "foo.bar", "x", 1, 0)));
    say("unknown namespace get: %s", R(getxattr(f, "foo.bar", buf, sizeof buf)));
    say("bare prefix: %s", R(setxattr(f, "user.", "x", 1, 0)));
    say("trusted as root: %s", R(setxattr(f, "trusted.t", "T", 1, 0)));
    say("security as root: %s", R(setxattr(f, "security.moat", "S", 1, 0)));

    ssize_t total = listxattr(f, NULL, 0);
    say("list size: %zd", total);
    say("list short: %s", R(listxattr(f, buf, 5)));
    show_list("list", listxattr(f, buf, sizeof buf), buf);
    say("remove user.big: %s", R(removexattr(f, "user.big")));
    say("remove again: %s", R(removexattr(f, "user.big")));
    show_list("list", listxattr(f, buf, sizeof buf), buf);

    /* By descriptor, on a read-only descriptor too. */
    int fd = open(f, O_RDONLY);
    say("fsetxattr: %s", R(fsetxattr(fd, "user.fd", "F", 1, 0)));
    ssize_t n = fgetxattr(fd, "user.fd", buf, sizeof buf);
    say("fgetxattr: %zd [%.*s]", n, n > 0 ? (int)n : 0, buf);
    show_list("flistxattr", flistxattr(fd, buf, sizeof buf), buf);
    say("fremovexattr: %s", R(fremovexattr(fd, "user.fd")));
    close(fd);
    int p[2];
    pipe(p);
    say("pipe fgetxattr: %s", R(fgetxattr(p[0], "user.a", buf, sizeof buf)));
    say("pipe fsetxattr: %s", R(fsetxattr(p[0], "user.a", "x", 1, 0)));
    say("pipe trusted: %s", R(fgetxattr(p[0], "trusted.a", buf, sizeof buf)));
    say("pipe flistxattr: %zd", flistxattr(p[0], buf, sizeof buf));
    close(p[0]);
    close(p[1]);

    /* Links: followed by the plain calls, not by the l* ones. */
    symlink("f", at("l"));
    get("get through link", at("l"), "user.a");
    say("lget user on link: %s", R(lgetxattr(at("l"), "user.a", buf, sizeof buf)));
    say("lset user on link: %s", R(lsetxattr(at("l"), "user.a", "x", 1, 0)));
    show_list("llist link", llistxattr(at("l"), buf, sizeof buf), buf);
    say("lremove on link: %s", R(lremovexattr(at("l"), "user.a")));

    /* Special files and directories. */
    mkfifo(at("p"), 0644);
    say("set user on fifo: %s", R(setxattr(at("p"), "user.a", "x", 1, 0)));
    say("get user on fifo: %s", R(getxattr(at("p"), "user.a", buf, sizeof buf)));
    say("trusted on fifo: %s", R(setxattr(at("p"), "trusted.a", "x", 1, 0)));
    mkdir(at("d"), 0755);
    say("set user on dir: %s", R(setxattr(at("d"), "user.d", "D", 1, 0)));
    get("get user on dir", at("d"), "user.d");

    /* Renames and hard links keep the attributes with the inode. */
    say("rename: %s", R(rename(f, at("g"))));
    get("after rename", at("g"), "user.a");
    say("link: %s", R(link(at("g"), at("h"))));
    say("set via one name: %s", R(setxattr(at("h"), "user.h", "H", 1, 0)));
    get("get via the other", at("g"), "user.h");

    /* Another user. */
    mkdir(at("sticky"), 01777);
    chmod(at("sticky"), 01777);
    close(open(at("mine"), O_CREAT | O_WRONLY, 0644));
    chown(at("mine"), 1000, 1000);
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(1000) != 0) _exit(2);
        get("  uid 1000 reads user.a", at("g"), "user.a");
        say("  uid 1000 sets user.a: %s", R(setxattr(at("g"), "user.a", "x", 1, 0)));
        say("  uid 1000 removes user.a: %s", R(removexattr(at("g"), "user.a")));
        get("  uid 1000 reads trusted.t", at("g"), "trusted.t");
        say("  uid 1000 sets trusted.t: %s", R(setxattr(at("g"), "trusted.t", "x", 1, 0)));
        get("  uid 1000 reads security.moat", at("g"), "security.moat");
        say("  uid 1000 sets security.x: %s", R(setxattr(at("mine"), "security.x", "x", 1, 0)));
        show_list("  uid 1000 lists", listxattr(at("g"), buf, sizeof buf), buf);
        say("  uid 1000 sets user on own file: %s", R(setxattr(at("mine"), "user.m", "M", 1, 0)));
        say("  uid 1000 sets user on sticky dir: %s", R(setxattr(at("sticky"), "user.s", "S", 1, 0)));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    get("uid 1000's attribute", at("mine"), "user.m");

    const char *names[] = {"g", "h", "l", "p", "mine"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) unlink(at(names[i]));
    rmdir(at("d"));
    rmdir(at("sticky"));
}

/* `xattr --show PATH [NAME VALUE]`: lists PATH's attributes with their
 * values, then tries to set NAME and lists again (for tests/tests/conformance.rs, which
 * checks that the host's user.* attributes show through the gofer). */
static int show(int argc, char **argv) {
    char names[1024], buf[256];
    ssize_t n = listxattr(argv[2], names, sizeof names);
    show_list("list", n, names);
    for (char *p = names; n > 0 && p < names + n; p += strlen(p) + 1) {
        ssize_t m = getxattr(argv[2], p, buf, sizeof buf - 1);
        buf[m < 0 ? 0 : m] = 0;
        say("%s=[%s]", p, buf);
    }
    if (argc > 4) {
        say("set %s: %s", argv[3], R(setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0)));
        show_list("list", listxattr(argv[2], names, sizeof names), names);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "--show") == 0) return show(argc, argv);
    umask(022);
    char self[4096], buf[256];
    snprintf(self, sizeof self, "%s", argv[0]);
    const char *bases[] = {dirname(strdup(self)), "/dev/shm"};
    for (int b = 0; b < 2; b++) {
        say("== %s", b == 0 ? "root file system" : "tmpfs");
        snprintf(dir, sizeof dir, "%s/xattr.scratch", bases[b]);
        mkdir(dir, 0777);
        chmod(dir, 0777);
        basics();
        say("rmdir: %s", R(rmdir(dir)));
    }

    /* The program itself, a file of the image: none at first; a change
     * (in moat, to a copy in the overlay) keeps the inode number. */
    struct stat before, after;
    stat(self, &before);
    show_list("image file", listxattr(self, buf, sizeof buf), buf);
    get("image file get", self, "user.a");
    say("image file set: %s", R(setxattr(self, "user.a", "I", 1, 0)));
    get("image file get", self, "user.a");
    stat(self, &after);
    say("same inode: %d", before.st_ino == after.st_ino);
    say("image file remove: %s", R(removexattr(self, "user.a")));
    show_list("image file", listxattr(self, buf, sizeof buf), buf);
    return 0;
}
