/* Pseudo-terminals from /dev/ptmx: posix_openpt/grantpt/unlockpt/ptsname,
 * the slave locked until unlockpt, the slave's initial termios, and the
 * canonical line discipline: lines, ERASE, WERASE, KILL, EOF, ICRNL, echo
 * with ECHOE/ECHOKE and ONLCR on output, FIONREAD on both ends, poll and
 * epoll. */
#include "conf.h"
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>

/* What the master has to read now (the slave's output and echoes), with
 * control characters spelled out. */
static void drain(int m, const char *what) {
    char buf[256], out[1024];
    int n = 0, o = 0;
    struct pollfd p = {m, POLLIN, 0};
    while (poll(&p, 1, 100) == 1 && (p.revents & POLLIN)) {
        int r = read(m, buf + n, sizeof buf - n);
        if (r <= 0) break;
        n += r;
    }
    for (int i = 0; i < n && o < (int)sizeof out - 8; i++) {
        unsigned char c = buf[i];
        if (c == '\r') o += sprintf(out + o, "\\r");
        else if (c == '\n') o += sprintf(out + o, "\\n");
        else if (c == '\b') o += sprintf(out + o, "\\b");
        else if (c < 32 || c == 127) o += sprintf(out + o, "\\x%02x", c);
        else out[o++] = c;
    }
    out[o] = 0;
    say("%s: master reads \"%s\"", what, out);
}

static void slave_read(int s, const char *what) {
    char buf[64];
    int n = read(s, buf, sizeof buf - 1);
    int e = errno;
    if (n < 0) {
        say("%s: slave read -> %s", what, errname(e));
        return;
    }
    for (int i = 0; i < n; i++)
        if (buf[i] == '\n') buf[i] = '|';
    buf[n] = 0;
    say("%s: slave read %d \"%s\"", what, n, buf);
}

int main(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    say("posix_openpt ok %d", m >= 0);
    say("isatty(master) %d", isatty(m));
    say("grantpt %d", grantpt(m));
    const char *name = ptsname(m);
    say("ptsname under /dev/pts/ %d", name && strncmp(name, "/dev/pts/", 9) == 0);
    int locked = -1;
    ioctl(m, TIOCGPTLCK, &locked);
    say("locked before unlockpt %d", locked);
    int early = open(name, O_RDWR | O_NOCTTY);
    say("open locked slave -> %d %s", early, errname(early < 0 ? errno : 0));
    say("unlockpt %d", unlockpt(m));
    int s = open(name, O_RDWR | O_NOCTTY);
    say("open slave ok %d, isatty %d", s >= 0, isatty(s));
    char tn[64] = "";
    int r = ttyname_r(s, tn, sizeof tn);
    say("ttyname_r %d, under /dev/pts/ %d", r, strncmp(tn, "/dev/pts/", 9) == 0);
    unsigned ptn = 0;
    r = ioctl(m, TIOCGPTN, &ptn);
    say("TIOCGPTN %d, matches name %d", r, atoi(name + 9) == (int)ptn);

    struct termios t;
    tcgetattr(s, &t);
    say("iflag %#o oflag %#o lflag %#o cflag-csize %#o cread %d", t.c_iflag, t.c_oflag, t.c_lflag,
        t.c_cflag & CSIZE, !!(t.c_cflag & CREAD));
    say("cc intr %d quit %d erase %d kill %d eof %d min %d time %d susp %d", t.c_cc[VINTR], t.c_cc[VQUIT],
        t.c_cc[VERASE], t.c_cc[VKILL], t.c_cc[VEOF], t.c_cc[VMIN], t.c_cc[VTIME], t.c_cc[VSUSP]);
    struct termios mt;
    r = tcgetattr(m, &mt);
    say("tcgetattr(master) %d, lflag %#o", r, mt.c_lflag);

    (void)!write(m, "hello\n", 6);
    drain(m, "line");
    int q = -1;
    ioctl(s, FIONREAD, &q);
    say("FIONREAD slave %d", q);
    slave_read(s, "line");

    /* A partial line is not readable yet. */
    (void)!write(m, "ab", 2);
    struct pollfd p = {s, POLLIN, 0};
    say("poll partial line %d", poll(&p, 1, 0));
    fcntl(s, F_SETFL, O_RDWR | O_NONBLOCK);
    slave_read(s, "partial");
    (void)!write(m, "c\r", 2);
    p.revents = 0;
    r = poll(&p, 1, 0);
    say("poll complete line %d revents %#x", r, p.revents);
    slave_read(s, "completed by CR (ICRNL)");
    drain(m, "partial+cr");
    fcntl(s, F_SETFL, O_RDWR);

    (void)!write(m, "abx\x7f" "c\n", 6);
    slave_read(s, "erase");
    drain(m, "erase");
    (void)!write(m, "one two  \x17three\n", 16);
    slave_read(s, "werase");
    drain(m, "werase");
    (void)!write(m, "xyz\x15ok\n", 7);
    slave_read(s, "kill");
    drain(m, "kill");
    (void)!write(m, "\x04", 1);
    slave_read(s, "eof on empty line");
    (void)!write(m, "ab\x04", 3);
    slave_read(s, "eof after ab");
    drain(m, "eof");
    /* Two lines at once: one read returns one line. */
    (void)!write(m, "one\ntwo\n", 8);
    slave_read(s, "first of two");
    slave_read(s, "second of two");
    drain(m, "two lines");
    /* Control characters echo as ^X with ECHOCTL. */
    (void)!write(m, "a\x01" "b\n", 4);
    slave_read(s, "ctrl-a");
    drain(m, "ctrl-a");

    /* Output: ONLCR maps \n to \r\n; FIONREAD on the master counts it. */
    (void)!write(s, "out\n", 4);
    p.fd = m;
    p.revents = 0;
    r = poll(&p, 1, 1000);
    say("poll master %d revents %#x", r, p.revents);
    ioctl(m, FIONREAD, &q);
    say("FIONREAD master %d", q);
    drain(m, "output");

    /* epoll on the slave: ready once a line is complete. */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    say("epoll_ctl slave %d", epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev));
    (void)!write(m, "ep", 2);
    struct epoll_event got[2];
    say("epoll partial line %d", epoll_wait(ep, got, 2, 50));
    (void)!write(m, "\n", 1);
    r = epoll_wait(ep, got, 2, 1000);
    say("epoll complete line %d data %u", r, r > 0 ? got[0].data.u32 : 0);
    slave_read(s, "epoll");
    drain(m, "epoll");

    /* Without ECHO nothing comes back. */
    t.c_lflag &= ~ECHO;
    tcsetattr(s, TCSANOW, &t);
    (void)!write(m, "quiet\n", 6);
    slave_read(s, "noecho");
    drain(m, "noecho");
    return 0;
}
