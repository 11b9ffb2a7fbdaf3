/* inotify in a scratch directory under /tmp (in moat the root overlay)
 * and under /dev/shm (tmpfs):
 * inotify_init1 flags, inotify_add_watch's rules (one wd per inode and
 * instance, a hard link or a followed symlink reaching the same one,
 * IN_MASK_ADD, IN_MASK_CREATE, IN_ONLYDIR, IN_DONT_FOLLOW, the errors),
 * the events of a directory watch naming the child (create, open, access,
 * modify, attrib, close, moves with a shared cookie, delete, IN_ISDIR),
 * the events of a file watch (link count, IN_MOVE_SELF, IN_DELETE_SELF
 * and IN_IGNORED), IN_ONESHOT, IN_EXCL_UNLINK, rm_watch, coalescing of an
 * identical event, whole-event reads (EINVAL when the buffer is too
 * short), FIONREAD, EAGAIN, a blocking read woken by another process,
 * poll and epoll readiness, IN_Q_OVERFLOW past max_queued_events, and
 * the events of an execve of a watched program.
 * Run on the root file system and again on the /dev/shm tmpfs. */
#include "conf.h"
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#define R(call) (((call) < 0) ? errname(errno) : "0")

static char dir[4096];

static const char *at(const char *rel) {
    static char buf[4][4200];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, rel);
    return buf[i];
}

static const char *masks(uint32_t m) {
    static char out[512];
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {IN_ACCESS, "ACCESS"},       {IN_MODIFY, "MODIFY"},       {IN_ATTRIB, "ATTRIB"},
        {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
        {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},   {IN_CREATE, "CREATE"},
        {IN_DELETE, "DELETE"},       {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
        {IN_UNMOUNT, "UNMOUNT"},     {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"},
        {IN_ISDIR, "ISDIR"},
    };
    out[0] = 0;
    for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (m & names[i].bit) {
            if (out[0]) strcat(out, "|");
            strcat(out, names[i].name);
            m &= ~names[i].bit;
        }
    }
    if (m) snprintf(out + strlen(out), 32, "|0x%x", m);
    return out;
}

/* Cookies are printed as letters in order of appearance. */
static uint32_t cookies[64];
static int ncookies;
static char cookie_name(uint32_t c) {
    if (c == 0) return '0';
    for (int i = 0; i < ncookies; i++)
        if (cookies[i] == c) return 'A' + i;
    if (ncookies < 64) cookies[ncookies++] = c;
    return 'A' + ncookies - 1;
}

/* Reads and prints every queued event (the descriptor is non-blocking). */
static int drain(int fd, const char *what) {
    char buf[65536] __attribute__((aligned(8)));
    int total = 0;
    say("-- %s", what);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno != EAGAIN) say("read: %s", errname(errno));
            break;
        }
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            say("wd=%d %s cookie=%c len=%u name=%s", e->wd, masks(e->mask), cookie_name(e->cookie), e->len,
                e->len ? e->name : "-");
            p += sizeof *e + e->len;
            total++;
        }
    }
    return total;
}

static int nread(int fd) {
    int n = -1;
    if (ioctl(fd, FIONREAD, &n) < 0) return -errno;
    return n;
}

static void touch(const char *p) {
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) say("open %s: %s", p, errname(errno));
    close(fd);
}

static void flags_and_errors(void) {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    say("init1 nonblock=%d cloexec=%d", !!(fcntl(fd, F_GETFL) & O_NONBLOCK), !!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
    int plain = inotify_init();
    say("init nonblock=%d cloexec=%d", !!(fcntl(plain, F_GETFL) & O_NONBLOCK),
        !!(fcntl(plain, F_GETFD) & FD_CLOEXEC));
    close(plain);
    say("init1(bad flag): %s", R(inotify_init1(0x10)));
    struct stat st;
    fstat(fd, &st);
    say("fstat type=0%o", st.st_mode & S_IFMT);
    say("add_watch bad fd: %s", R(inotify_add_watch(1000, dir, IN_ALL_EVENTS)));
    say("add_watch on a pipe: %s", R(inotify_add_watch(0, dir, IN_ALL_EVENTS)));
    say("add_watch mask 0: %s", R(inotify_add_watch(fd, dir, 0)));
    say("add_watch missing: %s", R(inotify_add_watch(fd, at("missing"), IN_ALL_EVENTS)));
    touch(at("f"));
    say("add_watch ONLYDIR on a file: %s", R(inotify_add_watch(fd, at("f"), IN_MODIFY | IN_ONLYDIR)));
    say("add_watch MASK_ADD|MASK_CREATE: %s",
        R(inotify_add_watch(fd, at("f"), IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE)));
    say("rm_watch unknown: %s", R(inotify_rm_watch(fd, 42)));
    char c;
    say("read empty: %s", R(read(fd, &c, 1)));
    say("write: %s", R(write(fd, "x", 1)));
    say("lseek: %s", R(lseek(fd, 0, SEEK_SET)));
    unlink(at("f"));
    close(fd);
}

static void watch_descriptors(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    touch(at("f"));
    link(at("f"), at("hard"));
    symlink("f", at("sym"));
    int d = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
    int again = inotify_add_watch(fd, dir, IN_CREATE);
    say("dir wd=%d again=%d", d, again);
    say("MASK_CREATE on it: %s", R(inotify_add_watch(fd, dir, IN_CREATE | IN_MASK_CREATE)));
    int f = inotify_add_watch(fd, at("f"), IN_ATTRIB);
    int hard = inotify_add_watch(fd, at("hard"), IN_ATTRIB);
    int followed = inotify_add_watch(fd, at("sym"), IN_ATTRIB);
    say("file wd=%d hard link=%d symlink followed=%d", f, hard, followed);
    say("symlink DONT_FOLLOW=%d", inotify_add_watch(fd, at("sym"), IN_ATTRIB | IN_DONT_FOLLOW));
    say("ONLYDIR on the dir=%d", inotify_add_watch(fd, dir, IN_ALL_EVENTS | IN_ONLYDIR));
    int other = inotify_init1(IN_NONBLOCK);
    say("other instance: file wd=%d", inotify_add_watch(other, at("f"), IN_ATTRIB));
    close(other);
    const char *first = R(inotify_rm_watch(fd, f));
    say("rm_watch file: %s again: %s", first, R(inotify_rm_watch(fd, f)));
    say("new watch after rm: wd=%d", inotify_add_watch(fd, at("f"), IN_ATTRIB));
    unlink(at("hard"));
    unlink(at("sym"));
    unlink(at("f"));
    drain(fd, "wd rules");
    close(fd);
}

static void directory_events(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    int d = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
    say("dir wd=%d", d);
    int w = open(at("a"), O_WRONLY | O_CREAT | O_EXCL, 0644);
    drain(fd, "create");
    (void)!write(w, "hello", 5);
    (void)!write(w, "hello", 5);
    (void)!write(w, "hello", 5);
    drain(fd, "three writes coalesce");
    close(w);
    drain(fd, "close after write");
    int r = open(at("a"), O_RDONLY);
    char buf[16];
    (void)!read(r, buf, sizeof buf);
    (void)!read(r, buf, sizeof buf); /* EOF: no event */
    close(r);
    drain(fd, "open, read, EOF, close");
    r = open(at("a"), O_RDWR);
    close(r);
    drain(fd, "open rdwr, close without writing");
    chmod(at("a"), 0600);
    struct timespec ts[2] = {{1, 0}, {2, 0}};
    utimensat(AT_FDCWD, at("a"), ts, 0);
    truncate(at("a"), 2);
    drain(fd, "chmod, utimensat, truncate");
    w = open(at("a"), O_WRONLY | O_TRUNC);
    drain(fd, "open O_TRUNC");
    (void)!pwrite(w, "x", 1, 100);
    ftruncate(w, 1);
    fchmod(w, 0644);
    close(w);
    drain(fd, "pwrite, ftruncate, fchmod, close");
    mkdir(at("sub"), 0755);
    int sd = open(at("sub"), O_RDONLY | O_DIRECTORY);
    char dents[4096];
    (void)!syscall(SYS_getdents64, sd, dents, sizeof dents);
    close(sd);
    drain(fd, "mkdir, open dir, getdents, close");
    rename(at("a"), at("b"));
    rename(at("b"), at("sub/c"));
    rename(at("sub/c"), at("b"));
    drain(fd, "renames (cookies pair up)");
    link(at("b"), at("b2"));
    symlink("b", at("s"));
    mkfifo(at("p"), 0644);
    drain(fd, "link, symlink, mkfifo");
    unlink(at("b2"));
    unlink(at("s"));
    unlink(at("p"));
    rmdir(at("sub"));
    drain(fd, "unlink, rmdir");
    touch(at("b"));
    drain(fd, "touch existing");
    unlink(at("b"));
    drain(fd, "unlink last");
    close(fd);
}

static void file_watch_events(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    touch(at("g"));
    mkdir(at("d"), 0755);
    int dw = inotify_add_watch(fd, dir, IN_ALL_EVENTS);
    int g = inotify_add_watch(fd, at("g"), IN_ALL_EVENTS);
    int sub = inotify_add_watch(fd, at("d"), IN_ALL_EVENTS);
    say("wds dir=%d g=%d d=%d", dw, g, sub);
    int w = open(at("g"), O_WRONLY);
    (void)!write(w, "x", 1);
    close(w);
    drain(fd, "dir and file watched: two events each");
    link(at("g"), at("g2"));
    drain(fd, "link");
    rename(at("g"), at("d/g"));
    drain(fd, "rename into d");
    unlink(at("g2"));
    drain(fd, "unlink one link");
    unlink(at("d/g"));
    drain(fd, "unlink the last link");
    rename(at("d"), at("e"));
    drain(fd, "rename dir");
    rmdir(at("e"));
    drain(fd, "rmdir");
    touch(at("h"));
    touch(at("victim"));
    int v = inotify_add_watch(fd, at("victim"), IN_ALL_EVENTS);
    say("victim wd=%d", v);
    rename(at("h"), at("victim"));
    drain(fd, "rename over a watched file");
    unlink(at("victim"));
    close(fd);
}

static void oneshot_mask_add_excl_unlink(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    touch(at("o"));
    int o = inotify_add_watch(fd, at("o"), IN_ATTRIB | IN_ONESHOT);
    chmod(at("o"), 0600);
    chmod(at("o"), 0644);
    drain(fd, "oneshot");
    say("rm_watch after oneshot: %s", R(inotify_rm_watch(fd, o)));
    int m = inotify_add_watch(fd, at("o"), IN_MODIFY);
    inotify_add_watch(fd, at("o"), IN_ATTRIB | IN_MASK_ADD);
    int w = open(at("o"), O_WRONLY);
    (void)!write(w, "x", 1);
    fchmod(w, 0600);
    drain(fd, "MASK_ADD: modify and attrib");
    inotify_add_watch(fd, at("o"), IN_ATTRIB);
    (void)!write(w, "x", 1);
    fchmod(w, 0644);
    drain(fd, "replaced: attrib only");
    inotify_rm_watch(fd, m);
    drain(fd, "rm_watch");
    int ex = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(ex, dir, IN_MODIFY | IN_EXCL_UNLINK);
    int plain = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(plain, dir, IN_MODIFY);
    unlink(at("o"));
    (void)!write(w, "y", 1);
    drain(ex, "write after unlink, EXCL_UNLINK");
    drain(plain, "write after unlink, plain");
    close(w);
    close(ex);
    close(plain);
    close(fd);
}

static void reading(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    say("FIONREAD empty=%d", nread(fd));
    inotify_add_watch(fd, dir, IN_CREATE);
    touch(at("name1"));
    touch(at("a-longer-name-of-20"));
    say("FIONREAD two=%d", nread(fd));
    char buf[256] __attribute__((aligned(8)));
    say("read 15 bytes: %s", R(read(fd, buf, 15)));
    say("read 16 bytes: %s", R(read(fd, buf, 16)));
    ssize_t n = read(fd, buf, sizeof(struct inotify_event) + 16);
    struct inotify_event *e = (struct inotify_event *)buf;
    say("read one event: n=%zd len=%u name=%s", n, e->len, e->name);
    say("FIONREAD one=%d", nread(fd));
    n = read(fd, buf, sizeof buf);
    say("read rest: n=%zd len=%u name=%s", n, e->len, e->name);
    say("read empty: %s", R(read(fd, buf, sizeof buf)));
    unlink(at("name1"));
    unlink(at("a-longer-name-of-20"));
    close(fd);
}

static void readiness_and_blocking(void) {
    int fd = inotify_init1(IN_NONBLOCK);
    int blocking = inotify_init();
    inotify_add_watch(fd, dir, IN_CREATE);
    inotify_add_watch(blocking, dir, IN_CREATE);
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    int n0 = poll(&p, 1, 0);
    say("poll empty: n=%d revents=0x%x", n0, p.revents);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    say("epoll_ctl: %s", R(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)));
    struct epoll_event got;
    say("epoll empty: %d", epoll_wait(ep, &got, 1, 0));
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        touch(at("late"));
        _exit(0);
    }
    char buf[256] __attribute__((aligned(8)));
    ssize_t n = read(blocking, buf, sizeof buf);
    say("blocking read woke: n=%zd name=%s", n, ((struct inotify_event *)buf)->name);
    waitpid(child, NULL, 0);
    int np = poll(&p, 1, 1000);
    say("poll ready: n=%d revents=0x%x", np, p.revents);
    int ne = epoll_wait(ep, &got, 1, 1000);
    say("epoll ready: %d events=0x%x data=%u", ne, got.events, got.data.u32);
    drain(fd, "late");
    say("poll drained: n=%d", poll(&p, 1, 0));
    unlink(at("late"));
    close(ep);
    close(blocking);
    close(fd);
}

static void overflow(void) {
    char text[32] = {0};
    int pf = open("/proc/sys/fs/inotify/max_queued_events", O_RDONLY);
    (void)!read(pf, text, sizeof text - 1);
    close(pf);
    int max = atoi(text);
    say("max_queued_events=%d", max);
    int fd = inotify_init1(IN_NONBLOCK);
    touch(at("q"));
    inotify_add_watch(fd, at("q"), IN_OPEN | IN_CLOSE_NOWRITE);
    for (int i = 0; i < max / 2 + 10; i++) close(open(at("q"), O_RDONLY));
    int events = 0, overflows = 0, last_wd = 0;
    uint32_t last = 0;
    char buf[65536] __attribute__((aligned(8)));
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            events++;
            if (e->mask & IN_Q_OVERFLOW) overflows++;
            last = e->mask;
            last_wd = e->wd;
            p += sizeof *e + e->len;
        }
    }
    say("events=%d overflows=%d last=%s wd=%d", events, overflows, masks(last), last_wd);
    close(open(at("q"), O_RDONLY));
    drain(fd, "after the overflow was read");
    unlink(at("q"));
    close(fd);
}

/* execve of a watched program: opened and read at exec, closed when the
 * process running it exits. */
static void exec_events(void) {
    char self[4096] = {0};
    if (readlink("/proc/self/exe", self, sizeof self - 1) < 0) return;
    int fd = inotify_init1(IN_NONBLOCK);
    inotify_add_watch(fd, self, IN_ALL_EVENTS);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {self, "exec-child", NULL};
        execv(self, argv);
        _exit(1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    say("exec child exit=%d", WEXITSTATUS(st));
    drain(fd, "exec of the watched program");
    close(fd);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exec-child") == 0) return 0;
    /* The root file system (in moat the overlay), then the /dev/shm tmpfs. */
    const char *bases[] = {"/tmp", "/dev/shm"};
    for (int b = 0; b < 2; b++) {
        say("== %s", bases[b]);
        snprintf(dir, sizeof dir, "%s/inotify.XXXXXX", bases[b]);
        if (!mkdtemp(dir)) {
            say("mkdtemp: %s", errname(errno));
            return 1;
        }
        ncookies = 0;
        flags_and_errors();
        watch_descriptors();
        directory_events();
        file_watch_events();
        oneshot_mask_add_excl_unlink();
        reading();
        readiness_and_blocking();
        if (b == 0) {
            overflow();
            exec_events();
        }
        say("rmdir scratch: %s", R(rmdir(dir)));
    }
    return 0;
}
