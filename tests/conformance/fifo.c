/* mknod/mkfifo and FIFO semantics, on the root file system (in moat the
 * overlay; natively the host's directory next to the program) and on the
 * /dev/shm tmpfs: one pipe shared by every opener, opens that wait for
 * the other side (O_NONBLOCK: at once, or ENXIO for a writer alone;
 * O_RDWR never waits), EOF and POLLHUP after the last writer, EPIPE and
 * SIGPIPE after the last reader, epoll readiness, a waiting open
 * interrupted by a signal (EINTR, or restarted under SA_RESTART), and the
 * other node types mknod makes. */
#include "conf.h"
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

static const char *en(int e) {
    switch (e) {
    case ENXIO: return "ENXIO";
    default: return errname(e);
    }
}

#define R(call) (((call) < 0) ? en(errno) : "0")

static char dir[4096];
static int ioctl_nread(int fd);

static const char *at(const char *rel) {
    static char buf[2][4200];
    static int i;
    i ^= 1;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, rel);
    return buf[i];
}

static volatile int sigs;
static int alarm_pipe[2];
static void on_signal(int s) {
    sigs++;
    if (s == SIGALRM) (void)!write(alarm_pipe[1], "a", 1);
}

static void handle(int sig, int flags) {
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static short revents(int fd, short events) {
    struct pollfd p = {fd, events, 0};
    return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static void basics(void) {
    const char *f = at("f");
    struct stat st, fst;
    say("mkfifo: %s", R(mkfifo(f, 0666)));
    say("mkfifo again: %s", R(mkfifo(f, 0666)));
    stat(f, &st);
    say("fifo: %d mode %o size %ld", S_ISFIFO(st.st_mode), st.st_mode & 07777, (long)st.st_size);

    say("writer alone, nonblocking: %s", R(open(f, O_WRONLY | O_NONBLOCK)));
    int r = open(f, O_RDONLY | O_NONBLOCK);
    say("reader alone, nonblocking: %s", r < 0 ? en(errno) : "ok");
    fstat(r, &fst);
    say("fstat: fifo %d same inode %d", S_ISFIFO(fst.st_mode), fst.st_ino == st.st_ino && fst.st_dev == st.st_dev);
    char buf[64];
    say("read, no writer yet: %zd", read(r, buf, sizeof buf));
    say("poll, no writer yet: %#x", revents(r, POLLIN));
    int w = open(f, O_WRONLY | O_NONBLOCK);
    say("writer with a reader: %s", w < 0 ? en(errno) : "ok");
    say("read, empty: %s", R(read(r, buf, sizeof buf)));
    say("poll writer: %#x", revents(w, POLLOUT));
    int r2 = open(f, O_RDONLY | O_NONBLOCK);
    say("write: %zd", write(w, "hello", 5));
    say("poll reader: %#x", revents(r, POLLIN));
    int n = ioctl_nread(r2);
    say("second reader sees %d bytes", n);
    ssize_t got = read(r2, buf, 3);
    buf[got > 0 ? got : 0] = 0;
    say("second reader reads [%s]", buf);
    got = read(r, buf, sizeof buf);
    buf[got > 0 ? got : 0] = 0;
    say("first reader reads [%s]", buf);
    int rw = open(f, O_RDWR);
    say("O_RDWR open: %s", rw < 0 ? en(errno) : "ok");
    say("write rw: %zd", write(rw, "xy", 2));
    got = read(r, buf, sizeof buf);
    buf[got > 0 ? got : 0] = 0;
    say("reader reads [%s]", buf);
    close(rw);
    close(w);
    say("read after last writer: %zd", read(r, buf, sizeof buf));
    say("poll after last writer: %#x", revents(r, POLLIN));
    close(r);
    close(r2);

    /* The last reader gone: EPIPE and SIGPIPE. */
    r = open(f, O_RDONLY | O_NONBLOCK);
    w = open(f, O_WRONLY | O_NONBLOCK);
    close(r);
    sigs = 0;
    handle(SIGPIPE, 0);
    const char *res = R(write(w, "x", 1));
    say("write without reader: %s, SIGPIPE %d", res, sigs);
    say("poll writer without reader: %#x", revents(w, POLLOUT));
    close(w);

    /* epoll sees data arrive. */
    r = open(f, O_RDONLY | O_NONBLOCK);
    w = open(f, O_WRONLY);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = r};
    say("epoll_ctl: %s", R(epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev)));
    say("epoll empty: %d", epoll_wait(ep, &ev, 1, 0));
    (void)!write(w, "z", 1);
    int k = epoll_wait(ep, &ev, 1, 1000);
    say("epoll after write: %d events %#x", k, ev.events);
    close(ep);
    close(w);
    close(r);

    /* Unlinked while open: the pipe stays. */
    rw = open(f, O_RDWR);
    say("unlink: %s", R(unlink(f)));
    say("write after unlink: %zd", write(rw, "u", 1));
    say("read after unlink: %zd", read(rw, buf, 1));
    close(rw);
}

/* A reader that waits for a writer, which comes from a child. */
static void blocking(void) {
    const char *f = at("b");
    mkfifo(f, 0600);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(100 * 1000);
        int w = open(f, O_WRONLY);
        (void)!write(w, "from child", 10);
        _exit(0);
    }
    int r = open(f, O_RDONLY);
    say("blocking reader opened: %s", r < 0 ? en(errno) : "ok");
    char buf[32] = {0};
    ssize_t got = 0, n;
    while ((n = read(r, buf + got, sizeof buf - 1 - got)) > 0) got += n;
    say("read [%s] then EOF %zd", buf, n);
    close(r);
    waitpid(pid, NULL, 0);

    /* And a writer that waits for a reader. */
    pid = fork();
    if (pid == 0) {
        usleep(100 * 1000);
        int r2 = open(f, O_RDONLY);
        char b[8] = {0};
        ssize_t m = read(r2, b, sizeof b - 1);
        _exit(m == 2 && strcmp(b, "ok") == 0 ? 0 : 1);
    }
    int w = open(f, O_WRONLY);
    say("blocking writer opened: %s", w < 0 ? en(errno) : "ok");
    (void)!write(w, "ok", 2);
    close(w);
    int status;
    waitpid(pid, &status, 0);
    say("child read it: %d", WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* A signal interrupts the wait: EINTR without SA_RESTART. */
    pipe(alarm_pipe);
    sigs = 0;
    handle(SIGALRM, 0);
    alarm(1);
    const char *res = R(open(f, O_RDONLY));
    say("open interrupted: %s, handler ran %d", res, sigs);

    /* With SA_RESTART the open goes on until the writer comes, which the
     * child makes only after the handler ran. */
    char c;
    (void)!read(alarm_pipe[0], &c, 1);
    sigs = 0;
    handle(SIGALRM, SA_RESTART);
    pid = fork();
    if (pid == 0) {
        (void)!read(alarm_pipe[0], &c, 1);
        int w2 = open(f, O_WRONLY);
        (void)!write(w2, "late", 4);
        _exit(0);
    }
    alarm(1);
    int r3 = open(f, O_RDONLY);
    res = r3 < 0 ? en(errno) : "ok";
    say("open restarted: %s, handler ran %d", res, sigs);
    char buf2[8] = {0};
    (void)!read(r3, buf2, 4);
    say("read [%s]", buf2);
    close(r3);
    waitpid(pid, NULL, 0);
    unlink(f);
}

static void nodes(void) {
    struct stat st;
    say("mknod regular: %s", R(mknod(at("reg"), S_IFREG | 0640, 0)));
    stat(at("reg"), &st);
    say("  regular %d size %ld mode %o", S_ISREG(st.st_mode), (long)st.st_size, st.st_mode & 07777);
    say("mknod type 0: %s", R(mknod(at("zero"), 0644, 0)));
    stat(at("zero"), &st);
    say("  regular %d", S_ISREG(st.st_mode));
    say("mknod socket: %s", R(mknod(at("sock"), S_IFSOCK | 0666, 0)));
    stat(at("sock"), &st);
    say("  socket %d", S_ISSOCK(st.st_mode));
    say("open socket node: %s", R(open(at("sock"), O_RDONLY)));
    say("mknod dir: %s", R(mknod(at("dir"), S_IFDIR | 0755, 0)));
    say("mknod bad type: %s", R(mknod(at("bad"), 0170000 | 0644, 0)));
    say("mknod existing: %s", R(mknod(at("reg"), S_IFIFO | 0644, 0)));
    say("mknod char as root: %s", R(mknod(at("chr"), S_IFCHR | 0600, makedev(1, 7))));
    stat(at("chr"), &st);
    say("  char %d rdev %u:%u", S_ISCHR(st.st_mode), major(st.st_rdev), minor(st.st_rdev));
    say("mknodat fifo: %s", R(mknodat(AT_FDCWD, at("fifo2"), S_IFIFO | 0600, 0)));
    stat(at("fifo2"), &st);
    say("  fifo %d rdev %lu", S_ISFIFO(st.st_mode), (unsigned long)st.st_rdev);
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(1000) != 0) _exit(2);
        say("  as uid 1000: char %s", R(mknod(at("chr2"), S_IFCHR | 0600, makedev(1, 7))));
        say("  as uid 1000: fifo %s", R(mknod(at("fifo3"), S_IFIFO | 0600, 0)));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    const char *names[] = {"reg", "zero", "sock", "chr", "fifo2", "fifo3"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) unlink(at(names[i]));
}

int main(int argc, char **argv) {
    (void)argc;
    umask(022);
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    const char *bases[] = {dirname(self), "/dev/shm"};
    for (int b = 0; b < 2; b++) {
        say("== %s", b == 0 ? "root file system" : "tmpfs");
        snprintf(dir, sizeof dir, "%s/fifo.scratch", bases[b]);
        mkdir(dir, 0777);
        chmod(dir, 0777);
        basics();
        blocking();
        nodes();
        say("rmdir: %s", R(rmdir(dir)));
    }
    return 0;
}

#include <sys/ioctl.h>
static int ioctl_nread(int fd) {
    int n = -1;
    ioctl(fd, FIONREAD, &n);
    return n;
}
