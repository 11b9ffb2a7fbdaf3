/* fork, exit statuses, wait4 by pid and any child, WNOHANG, ECHILD,
 * getppid in the child, kill of a sleeping child, vfork. */
#include "conf.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static void describe(const char *what, int st) {
    if (WIFEXITED(st))
        say("%s: exited %d", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        say("%s: killed by signal %d", what, WTERMSIG(st));
    else
        say("%s: other status %#x", what, st);
}

int main(void) {
    pid_t me = getpid();
    int st;

    say("wait with no children: %s", errname(waitpid(-1, &st, 0) < 0 ? errno : 0));

    pid_t a = fork();
    if (a == 0) {
        _exit(getppid() == me ? 3 : 99);
    }
    say("fork returned a positive pid: %s", YN(a > 0));
    say("waitpid(a) returns a: %s", YN(waitpid(a, &st, 0) == a));
    describe("child a", st);
    say("waitpid(a) again: %s", errname(waitpid(a, &st, 0) < 0 ? errno : 0));

    /* Two children, reaped through wait(-1) in any order. */
    pid_t b = fork();
    if (b == 0) _exit(5);
    pid_t c = fork();
    if (c == 0) _exit(6);
    int sum = 0;
    for (int i = 0; i < 2; i++) {
        pid_t w = wait(&st);
        if ((w == b || w == c) && WIFEXITED(st)) sum += WEXITSTATUS(st);
    }
    say("wait(-1) twice collects both: sum %d", sum);

    /* WNOHANG on a child that is still sleeping, then kill it. */
    pid_t d = fork();
    if (d == 0) {
        struct timespec ts = {30, 0};
        nanosleep(&ts, NULL);
        _exit(7);
    }
    say("WNOHANG while running: %d", (int)waitpid(d, &st, WNOHANG));
    say("kill: %d", kill(d, SIGKILL));
    say("waitpid(d) returns d: %s", YN(waitpid(d, &st, 0) == d));
    describe("child d", st);

    /* Memory is copied: the child's write is not seen by the parent. */
    static volatile int shared = 1;
    pid_t e = fork();
    if (e == 0) {
        shared = 2;
        _exit(shared);
    }
    waitpid(e, &st, 0);
    describe("child e", st);
    say("parent still sees %d", shared);

    pid_t v = vfork();
    if (v == 0) _exit(9);
    waitpid(v, &st, 0);
    describe("vfork child", st);
    return 0;
}
