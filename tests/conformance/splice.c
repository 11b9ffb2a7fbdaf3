/* splice, tee and vmsplice between pipes, files and sockets; the argument
 * checks (no pipe, a pipe with an offset, the same pipe, bad flags,
 * O_APPEND output); SPLICE_F_NONBLOCK and the pipe's own O_NONBLOCK; a
 * splice that waits for a writer; sync_file_range and readahead. */
#include "conf.h"
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

static const char *r(long n) {
    static char b[64];
    if (n < 0) return errname(errno);
    snprintf(b, sizeof b, "%ld", n);
    return b;
}

static void drain(const char *what, int fd) {
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) {
        say("%s: read %s", what, errname(errno));
        return;
    }
    buf[n] = 0;
    say("%s: '%s'", what, buf);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/splice-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir)) return 1;
    int f = open("data", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (write(f, "0123456789abcdef", 16) != 16) return 1;
    int p[2], q[2];
    if (pipe(p) || pipe(q)) return 1;

    /* file -> pipe, at an offset: the offset moves, the position not. */
    loff_t off = 4;
    const char *n = r(splice(f, &off, p[1], NULL, 6, 0));
    say("file->pipe at 4: %s off=%lld pos=%lld", n, (long long)off, (long long)lseek(f, 0, SEEK_CUR));
    drain("pipe", p[0]);
    lseek(f, 10, SEEK_SET);
    say("file->pipe at pos: %s", r(splice(f, NULL, p[1], NULL, 100, 0)));
    say("pos after: %lld", (long long)lseek(f, 0, SEEK_CUR));
    drain("pipe", p[0]);
    say("file->pipe at EOF: %s", r(splice(f, NULL, p[1], NULL, 100, 0)));

    /* pipe -> file, at an offset past the end. */
    if (write(p[1], "XYZ", 3) != 3) return 1;
    off = 20;
    n = r(splice(p[0], NULL, f, &off, 10, 0));
    say("pipe->file at 20: %s off=%lld", n, (long long)off);
    struct stat st;
    fstat(f, &st);
    say("size: %lld", (long long)st.st_size);
    char buf[64] = {0};
    say("pread: %s", r(pread(f, buf, 3, 20)));
    say("bytes: %.3s", buf);

    /* The checks. */
    say("no pipe: %s", r(splice(f, NULL, f, NULL, 1, 0)));
    off = 0;
    say("pipe with offset: %s", r(splice(p[0], &off, f, NULL, 1, 0)));
    say("same pipe: %s", r(splice(p[0], NULL, p[1], NULL, 1, 0)));
    say("bad flags: %s", r(splice(f, NULL, p[1], NULL, 1, 0x100)));
    say("bad fd: %s", r(splice(99, NULL, p[1], NULL, 1, 0)));
    say("write end as input: %s", r(splice(p[1], NULL, f, NULL, 1, 0)));
    say("read end as output: %s", r(splice(f, NULL, p[0], NULL, 1, 0)));
    int ap = open("data", O_WRONLY | O_APPEND);
    if (write(p[1], "a", 1) != 1) return 1;
    say("O_APPEND output: %s", r(splice(p[0], NULL, ap, NULL, 1, 0)));
    say("zero length: %s", r(splice(p[0], NULL, f, NULL, 0, 0)));
    drain("left", p[0]);
    int ro = open("data", O_RDONLY);
    if (write(p[1], "b", 1) != 1) return 1;
    say("read-only output: %s", r(splice(p[0], NULL, ro, NULL, 1, 0)));
    drain("left", p[0]);
    off = -1;
    say("negative offset: %s", r(splice(f, &off, p[1], NULL, 1, 0)));

    /* Empty pipes and full pipes. */
    say("empty, NONBLOCK flag: %s", r(splice(p[0], NULL, f, NULL, 1, SPLICE_F_NONBLOCK)));
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    say("empty, pipe O_NONBLOCK: %s", r(splice(p[0], NULL, f, NULL, 1, 0)));
    fcntl(p[0], F_SETFL, 0);
    int w[2];
    if (pipe(w)) return 1;
    close(w[1]);
    say("empty, no writer: %s", r(splice(w[0], NULL, f, NULL, 1, 0)));
    close(w[0]);
    if (pipe(w)) return 1;
    fcntl(w[1], F_SETPIPE_SZ, 4096);
    static char big[4096];
    if (write(w[1], big, sizeof big) != sizeof big) return 1;
    say("full, NONBLOCK flag: %s", r(splice(f, &(loff_t){0}, w[1], NULL, 1, SPLICE_F_NONBLOCK)));
    say("pipe->full pipe, NONBLOCK flag: %s", r(splice(p[0], NULL, w[1], NULL, 1, SPLICE_F_NONBLOCK)));
    close(w[0]);
    say("no reader: %s", r(splice(f, &(loff_t){0}, w[1], NULL, 1, SPLICE_F_NONBLOCK)));
    close(w[1]);

    /* pipe -> pipe, and tee. */
    if (write(p[1], "hello", 5) != 5) return 1;
    say("tee: %s", r(tee(p[0], q[1], 3, 0)));
    drain("tee copy", q[0]);
    say("pipe->pipe: %s", r(splice(p[0], NULL, q[1], NULL, 100, 0)));
    drain("moved", q[0]);
    say("tee non-pipe: %s", r(tee(f, q[1], 1, 0)));
    say("tee same pipe: %s", r(tee(p[0], p[1], 1, 0)));
    say("tee empty, NONBLOCK: %s", r(tee(p[0], q[1], 1, SPLICE_F_NONBLOCK)));

    /* vmsplice both ways. */
    struct iovec iov[2] = {{"vm", 2}, {"splice", 6}};
    say("vmsplice in: %s", r(vmsplice(p[1], iov, 2, 0)));
    char a[3] = {0}, b[10] = {0};
    struct iovec out[2] = {{a, 2}, {b, 9}};
    say("vmsplice out: %s", r(vmsplice(p[0], out, 2, 0)));
    say("got: %s|%s", a, b);
    say("vmsplice non-pipe: %s", r(vmsplice(f, iov, 2, 0)));
    say("vmsplice empty, NONBLOCK: %s", r(vmsplice(p[0], out, 2, SPLICE_F_NONBLOCK)));

    /* Sockets. */
    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s)) return 1;
    if (write(p[1], "to-socket", 9) != 9) return 1;
    say("pipe->socket: %s", r(splice(p[0], NULL, s[0], NULL, 100, 0)));
    drain("socket", s[1]);
    if (write(s[1], "from-socket", 11) != 11) return 1;
    say("socket->pipe: %s", r(splice(s[0], NULL, p[1], NULL, 100, 0)));
    drain("pipe", p[0]);

    /* A splice that waits for the writer. */
    pid_t child = fork();
    if (child == 0) {
        usleep(100000);
        if (write(p[1], "late", 4) != 4) _exit(1);
        _exit(0);
    }
    off = 0;
    say("waited: %s", r(splice(p[0], NULL, f, &off, 100, 0)));
    waitpid(child, NULL, 0);
    say("pread: %s", r(pread(f, buf, 4, 0)));
    say("bytes: %.4s", buf);

    /* sync_file_range and readahead. */
    say("sync_file_range: %s", r(sync_file_range(f, 0, 0, SYNC_FILE_RANGE_WRITE)));
    say("sync_file_range all flags: %s",
        r(sync_file_range(f, 0, 100, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER)));
    say("sync_file_range bad flags: %s", r(sync_file_range(f, 0, 0, 8)));
    say("sync_file_range negative: %s", r(sync_file_range(f, -1, 0, 0)));
    say("sync_file_range pipe: %s", r(sync_file_range(p[0], 0, 0, 0)));
    say("sync_file_range bad fd: %s", r(sync_file_range(99, 0, 0, 0)));
    say("readahead: %s", r(readahead(f, 0, 4096)));
    say("readahead pipe: %s", r(readahead(p[0], 0, 4096)));
    say("readahead bad fd: %s", r(readahead(99, 0, 4096)));
    int wo = open("data", O_WRONLY);
    say("readahead write-only: %s", r(readahead(wo, 0, 4096)));

    unlink("data");
    (void)!chdir("/");
    rmdir(dir);
    return 0;
}
