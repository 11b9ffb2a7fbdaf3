/* SCM_RIGHTS: the read end of a pipe passed to a child over a socketpair
 * reads what the parent writes; MSG_CMSG_CLOEXEC; MSG_CTRUNC with a short
 * control buffer; SCM_CREDENTIALS with SO_PASSCRED. */
#include "conf.h"
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>

static int send_fd(int s, int fd) {
    char c = 'F';
    struct iovec iov = {&c, 1};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof fd);
    return sendmsg(s, &m, 0);
}

int main(void) {
    int s[2], p[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    if (pipe(p) != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(s[0]);
        close(p[0]);
        close(p[1]);
        char c;
        struct iovec iov = {&c, 1};
        union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = u.buf;
        m.msg_controllen = sizeof u.buf;
        int n = recvmsg(s[1], &m, MSG_CMSG_CLOEXEC);
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        say("child recvmsg %d %c cmsg %s type %d len %d", n, c, YN(h != NULL), h ? h->cmsg_type : -1,
            h ? (int)h->cmsg_len : -1);
        int fd;
        memcpy(&fd, CMSG_DATA(h), sizeof fd);
        say("child fd cloexec %s", YN(fcntl(fd, F_GETFD) & FD_CLOEXEC));
        char b[32];
        n = read(fd, b, sizeof b);
        say("child read from passed pipe %d %.*s", n, n, b);
        n = read(fd, b, sizeof b);
        say("child read again %d", n);
        _exit(0);
    }
    close(s[1]);
    /* Reported after the child's lines, so the output has one order. */
    errno = 0;
    long sent = send_fd(s[0], p[0]);
    int sent_errno = sent < 0 ? errno : 0;
    close(p[0]);
    (void)!write(p[1], "through the pipe", 16);
    close(p[1]);
    int st;
    waitpid(pid, &st, 0);
    say("sendmsg rights: ret=%ld errno=%s", sent, errname(sent_errno));
    say("child exit %d", WEXITSTATUS(st));

    /* A control buffer too short for the descriptor. */
    int t[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, t);
    REPORT("sendmsg rights dgram", send_fd(t[0], 1));
    char c;
    struct iovec iov = {&c, 1};
    char small[CMSG_LEN(0)];
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = small;
    m.msg_controllen = sizeof small;
    int n = recvmsg(t[1], &m, 0);
    say("short control: %d ctrunc %s controllen %zu", n, YN(m.msg_flags & MSG_CTRUNC), (size_t)m.msg_controllen);

    /* A bad descriptor in SCM_RIGHTS. */
    REPORT("sendmsg bad fd", send_fd(t[0], 999));

    /* Credentials. */
    int on = 1;
    setsockopt(t[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    send(t[0], "c", 1, 0);
    union { char buf[CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr align; } u;
    m.msg_control = u.buf;
    m.msg_controllen = sizeof u.buf;
    n = recvmsg(t[1], &m, 0);
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    struct ucred cr = {0};
    if (h) memcpy(&cr, CMSG_DATA(h), sizeof cr);
    say("passcred: %d type %d pid ok %s uid ok %s", n, h ? h->cmsg_type : -1, YN(cr.pid == getpid()),
        YN(cr.uid == getuid()));
    return 0;
}
