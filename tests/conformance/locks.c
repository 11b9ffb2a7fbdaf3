/* Advisory locks: flock(2) (per open file description: shared through
 * dup and fork, released by the last close, LOCK_NB refusals, conversion)
 * and fcntl record locks (per process: F_GETLK reports the blocker,
 * ranges split and merge, any close of the file releases them; F_SETLKW
 * waits, is interrupted by a signal, and refuses a deadlock with EDEADLK;
 * OFD locks belong to the description). flock and fcntl locks never
 * conflict. */
#include "conf.h"
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>

static const char *path = "/tmp/conformance-locks";

static int setlk(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

/* F_GETLK over [start, start+len) for a write lock: "none" or the blocker. */
static void getlk(const char *label, int fd, int cmd, off_t start, off_t len, pid_t holder) {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, cmd, &fl) < 0) {
        say("%s: errno=%s", label, errname(errno));
    } else if (fl.l_type == F_UNLCK) {
        say("%s: none", label);
    } else {
        say("%s: %s start=%ld len=%ld pid=%s", label, fl.l_type == F_WRLCK ? "write" : "read", (long)fl.l_start,
            (long)fl.l_len, fl.l_pid == holder ? "holder" : fl.l_pid == -1 ? "-1" : "other");
    }
}

/* Runs `body` in a child (which opens the file itself) and waits for it. */
static void in_child(void (*body)(pid_t), pid_t parent) {
    pid_t c = fork();
    if (c == 0) {
        body(parent);
        _exit(0);
    }
    waitpid(c, NULL, 0);
}

static void try_flock(pid_t parent) {
    (void)parent;
    int fd = open(path, O_RDWR);
    REPORT("child LOCK_EX|LOCK_NB", flock(fd, LOCK_EX | LOCK_NB));
    REPORT("child LOCK_SH|LOCK_NB", flock(fd, LOCK_SH | LOCK_NB));
}

static void try_record(pid_t parent) {
    int fd = open(path, O_RDWR);
    getlk("child F_GETLK [5,15)", fd, F_GETLK, 5, 10, parent);
    getlk("child F_GETLK [0,3)", fd, F_GETLK, 0, 3, parent);
    getlk("child F_GETLK [20,30)", fd, F_GETLK, 20, 10, parent);
    REPORT("child F_SETLK write [5,6)", setlk(fd, F_SETLK, F_WRLCK, 5, 1));
    REPORT("child F_SETLK read [3,5) (the hole)", setlk(fd, F_SETLK, F_RDLCK, 3, 2));
}

static void try_record_free(pid_t parent) {
    int fd = open(path, O_RDWR);
    getlk("child F_GETLK after the parent closed a dup", fd, F_GETLK, 0, 0, parent);
}

static void on_alarm(int sig) { (void)sig; }

int main(void) {
    pid_t me = getpid();
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    write(fd, "0123456789abcdefghij", 20);

    /* --- flock --- */
    REPORT("LOCK_EX", flock(fd, LOCK_EX));
    in_child(try_flock, me);
    int dupfd = dup(fd);
    close(fd);
    say("after closing one of two dups:");
    in_child(try_flock, me);
    REPORT("fcntl F_SETLK beside a flock", setlk(dupfd, F_SETLK, F_WRLCK, 0, 0));
    REPORT("F_UNLCK", setlk(dupfd, F_SETLK, F_UNLCK, 0, 0));
    close(dupfd);
    say("after the last close:");
    in_child(try_flock, me);
    fd = open(path, O_RDWR);
    REPORT("LOCK_SH", flock(fd, LOCK_SH));
    int other = open(path, O_RDWR);
    REPORT("second description LOCK_SH|LOCK_NB", flock(other, LOCK_SH | LOCK_NB));
    REPORT("second description LOCK_EX|LOCK_NB", flock(other, LOCK_EX | LOCK_NB));
    REPORT("LOCK_UN", flock(other, LOCK_UN));
    REPORT("bad operation", flock(fd, 0));
    close(other);
    close(fd);

    /* --- fcntl record locks --- */
    fd = open(path, O_RDWR);
    REPORT("F_SETLK write [0,10)", setlk(fd, F_SETLK, F_WRLCK, 0, 10));
    REPORT("F_SETLK read [12,14)", setlk(fd, F_SETLK, F_RDLCK, 12, 2));
    REPORT("F_SETLK read [14,16) (merges)", setlk(fd, F_SETLK, F_RDLCK, 14, 2));
    REPORT("F_UNLCK [3,5)", setlk(fd, F_SETLK, F_UNLCK, 3, 2));
    getlk("own F_GETLK", fd, F_GETLK, 0, 0, me);
    in_child(try_record, me);
    getlk("child's read lock seen", fd, F_GETLK, 3, 2, me);
    int ro = open(path, O_RDONLY);
    REPORT("F_WRLCK on O_RDONLY", setlk(ro, F_SETLK, F_WRLCK, 0, 1));
    struct flock bad = {.l_type = 7};
    REPORT("bad l_type", fcntl(fd, F_SETLK, &bad));
    REPORT("negative start", setlk(fd, F_SETLK, F_WRLCK, -1, 1));
    close(ro); /* closing any descriptor of the file drops our record locks */
    in_child(try_record_free, me);
    close(fd);

    /* F_SETLKW waits for the holder. */
    fd = open(path, O_RDWR);
    setlk(fd, F_SETLK, F_WRLCK, 0, 1);
    int ready[2];
    pipe(ready);
    pid_t c = fork();
    if (c == 0) {
        int cfd = open(path, O_RDWR);
        write(ready[1], "r", 1);
        int r = setlk(cfd, F_SETLKW, F_WRLCK, 0, 1);
        say("child F_SETLKW returned %d after the parent unlocked", r);
        _exit(0);
    }
    char b;
    read(ready[0], &b, 1);
    usleep(100000);
    say("parent unlocks");
    setlk(fd, F_SETLK, F_UNLCK, 0, 1);
    waitpid(c, NULL, 0);

    /* ... a signal interrupts it (no SA_RESTART). */
    setlk(fd, F_SETLK, F_WRLCK, 0, 1);
    c = fork();
    if (c == 0) {
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, NULL);
        int cfd = open(path, O_RDWR);
        alarm(1);
        REPORT("child F_SETLKW interrupted", setlk(cfd, F_SETLKW, F_WRLCK, 0, 1));
        _exit(0);
    }
    waitpid(c, NULL, 0);

    /* ... and a wait that would deadlock is refused. */
    c = fork();
    if (c == 0) {
        int cfd = open(path, O_RDWR);
        setlk(cfd, F_SETLK, F_WRLCK, 1, 1);
        write(ready[1], "r", 1);
        int r = setlk(cfd, F_SETLKW, F_WRLCK, 0, 1); /* waits for the parent */
        say("child got [0,1): %d", r);
        _exit(0);
    }
    read(ready[0], &b, 1);
    usleep(500000); /* the child is waiting by now */
    REPORT("parent F_SETLKW on the child's [1,2)", setlk(fd, F_SETLKW, F_WRLCK, 1, 1));
    setlk(fd, F_SETLK, F_UNLCK, 0, 0);
    waitpid(c, NULL, 0);
    close(fd);

    /* --- OFD locks --- */
    fd = open(path, O_RDWR);
    other = open(path, O_RDWR);
    REPORT("F_OFD_SETLK write [0,4)", setlk(fd, F_OFD_SETLK, F_WRLCK, 0, 4));
    REPORT("other description F_OFD_SETLK", setlk(other, F_OFD_SETLK, F_WRLCK, 2, 4));
    getlk("other description F_OFD_GETLK", other, F_OFD_GETLK, 0, 0, me);
    REPORT("process lock beside it (F_SETLK)", setlk(other, F_SETLK, F_WRLCK, 2, 1));
    struct flock withpid = {.l_type = F_WRLCK, .l_pid = 1};
    REPORT("F_OFD_SETLK with l_pid", fcntl(fd, F_OFD_SETLK, &withpid));
    close(fd);
    REPORT("after closing the holder, F_OFD_SETLK", setlk(other, F_OFD_SETLK, F_WRLCK, 0, 4));
    close(other);
    unlink(path);
    return 0;
}
