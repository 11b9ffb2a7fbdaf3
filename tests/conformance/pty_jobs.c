/* A pty as a controlling terminal: TIOCSCTTY, tcgetsid, tcsetpgrp and
 * tcgetpgrp; ^C and ^\ typed into the master signal the slave's
 * foreground group (ISIG) and echo as ^C; TIOCSWINSZ sends SIGWINCH;
 * a background group gets SIGTTOU for tcsetattr (EINTR without
 * SA_RESTART) and EIO for a read with SIGTTIN ignored; raw mode with
 * VMIN/VTIME; closing the master hangs up the slave (SIGHUP to the
 * session leader, EOF on read, EIO on write), closing the slave gives the
 * master EIO; a session leader's exit sends SIGHUP to the foreground
 * group. */
#include "conf.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

static volatile int winch, ttou, hup;
static void on_winch(int s) { (void)s; winch++; }
static void on_ttou(int s) { (void)s; ttou++; }
static void on_hup(int s) { (void)s; hup++; }

static int open_pty(int *m) {
    *m = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(*m);
    unlockpt(*m);
    return open(ptsname(*m), O_RDWR);
}

static void sleep_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int echo_of(int m, char *out, int len) {
    struct pollfd p = {m, POLLIN, 0};
    int n = 0;
    while (n < len - 1 && poll(&p, 1, 200) == 1 && (p.revents & POLLIN)) {
        int r = read(m, out + n, len - 1 - n);
        if (r <= 0) break;
        n += r;
    }
    out[n] = 0;
    for (int i = 0; i < n; i++)
        if (out[i] == '\r' || out[i] == '\n') out[i] = '_';
    return n;
}

/* In a new session: the pty becomes the controlling terminal. */
static int session(void) {
    int m;
    setsid();
    int s = open_pty(&m);
    say("no ctty yet: tcgetpgrp -> %s", tcgetpgrp(s) < 0 ? errname(errno) : "a group");
    say("TIOCSCTTY %d", ioctl(s, TIOCSCTTY, 0));
    say("tcgetsid is me %d, tcgetpgrp is my group %d", tcgetsid(s) == getpid(), tcgetpgrp(s) == getpgrp());
    say("master sees the group %d", tcgetpgrp(m) == getpgrp());
    int fd = open("/dev/tty", O_RDWR);
    say("/dev/tty opens %d", fd >= 0);
    close(fd);

    /* ^C to a foreground child in its own group. */
    pid_t c = fork();
    if (c == 0) {
        setpgid(0, 0);
        while (tcgetpgrp(s) != getpgrp()) sleep_ms(5);
        char b[8];
        (void)!read(s, b, sizeof b);
        _exit(0);
    }
    setpgid(c, c);
    say("tcsetpgrp child %d", tcsetpgrp(s, c));
    say("tcgetpgrp is the child %d", tcgetpgrp(s) == c);
    sleep_ms(100);
    (void)!write(m, "x\x03", 2);
    int st;
    waitpid(c, &st, 0);
    say("child killed by SIGINT %d", WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
    char e[64];
    echo_of(m, e, sizeof e);
    say("echo \"%s\"", e);

    /* Back in the foreground: we ignore SIGTTOU meanwhile, as shells do. */
    signal(SIGTTOU, SIG_IGN);
    say("tcsetpgrp back %d", tcsetpgrp(s, getpgrp()));
    signal(SIGTTOU, SIG_DFL);
    signal(SIGQUIT, SIG_IGN);
    (void)!write(m, "ab\x1c" "cd\n", 6);
    char b[16] = "";
    int n = read(s, b, sizeof b - 1);
    b[n > 0 ? n : 0] = 0;
    for (int i = 0; i < n; i++)
        if (b[i] == '\n') b[i] = '|';
    say("^\\ ignored flushes the line: read %d \"%s\"", n, b);
    echo_of(m, e, sizeof e);
    say("echo \"%s\"", e);

    /* Window size. */
    signal(SIGWINCH, on_winch);
    struct winsize w = {24, 80, 0, 0};
    say("TIOCSWINSZ %d", ioctl(m, TIOCSWINSZ, &w));
    sleep_ms(50);
    say("SIGWINCH %d", winch);
    struct winsize got;
    ioctl(s, TIOCGWINSZ, &got);
    say("winsize %dx%d", got.ws_row, got.ws_col);
    ioctl(s, TIOCSWINSZ, &w);
    sleep_ms(50);
    say("same size again: SIGWINCH %d", winch);

    /* Background group: SIGTTOU, SIGTTIN. */
    c = fork();
    if (c == 0) {
        setpgid(0, 0);
        struct sigaction sa = {0};
        sa.sa_handler = on_ttou;
        sigaction(SIGTTOU, &sa, 0);
        struct termios t;
        tcgetattr(s, &t);
        int r = tcsetattr(s, TCSANOW, &t);
        say("background tcsetattr %d %s, SIGTTOU %d", r, errname(r < 0 ? errno : 0), ttou);
        r = write(s, "bg\n", 3);
        say("background write without TOSTOP %d", r);
        signal(SIGTTIN, SIG_IGN);
        char b[4];
        r = read(s, b, sizeof b);
        say("background read, SIGTTIN ignored %d %s", r, errname(r < 0 ? errno : 0));
        _exit(0);
    }
    setpgid(c, c);
    waitpid(c, &st, 0);
    echo_of(m, e, sizeof e);
    say("output \"%s\"", e);

    /* Raw mode. */
    struct termios t;
    tcgetattr(s, &t);
    t.c_lflag &= ~(ICANON | ECHO | ISIG);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(s, TCSANOW, &t);
    (void)!write(m, "r\x03z", 3);
    sleep_ms(50);
    n = read(s, b, sizeof b);
    say("raw read %d, ^C is data %d", n, n == 3 && b[1] == 3);
    t.c_cc[VMIN] = 0;
    tcsetattr(s, TCSANOW, &t);
    say("VMIN 0 VTIME 0 read %d", (int)read(s, b, sizeof b));
    t.c_cc[VTIME] = 2;
    tcsetattr(s, TCSANOW, &t);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = read(s, b, sizeof b);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    say("VMIN 0 VTIME 2 read %d after at least 150ms %d", n, ms >= 150);

    /* Hangup: the master goes away. */
    signal(SIGHUP, on_hup);
    close(m);
    sleep_ms(50);
    say("SIGHUP to the session leader %d", hup);
    n = read(s, b, sizeof b);
    say("slave read after hangup %d %s", n, errname(n < 0 ? errno : 0));
    n = write(s, "x", 1);
    say("slave write after hangup %d %s", n, errname(n < 0 ? errno : 0));
    struct pollfd p = {s, POLLIN | POLLOUT, 0};
    int r = poll(&p, 1, 0);
    say("slave poll after hangup %d revents %#x", r, p.revents);
    return 0;
}

int main(void) {
    pid_t c = fork();
    if (c == 0) _exit(session());
    int st;
    waitpid(c, &st, 0);
    say("session exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);

    /* The slave closes: the master reads EIO. */
    int m;
    int s = open_pty(&m);
    close(s);
    char b[4];
    int n = read(m, b, sizeof b);
    say("master read after the slave closed %d %s", n, errname(n < 0 ? errno : 0));
    struct pollfd p = {m, POLLIN | POLLOUT, 0};
    int r = poll(&p, 1, 0);
    say("master poll %d revents %#x", r, p.revents);

    /* The session leader exits: its terminal's foreground group hears. */
    int pfd[2];
    (void)!pipe(pfd);
    c = fork();
    if (c == 0) {
        setsid();
        int m2;
        int s2 = open_pty(&m2);
        pid_t g = fork();
        if (g == 0) {
            setpgid(0, 0);
            signal(SIGHUP, on_hup);
            while (tcgetpgrp(s2) != getpgrp()) sleep_ms(5);
            (void)!write(pfd[1], "r", 1);
            while (!hup) pause();
            (void)!write(pfd[1], "h", 1);
            _exit(0);
        }
        setpgid(g, g);
        signal(SIGTTOU, SIG_IGN);
        tcsetpgrp(s2, g);
        char x;
        (void)!read(pfd[0], &x, 1);
        _exit(0);
    }
    close(pfd[1]);
    waitpid(c, &st, 0);
    char got[4] = "";
    n = read(pfd[0], got, 1);
    say("foreground group got SIGHUP when the leader exited: %d \"%s\"", n, got);
    return 0;
}
