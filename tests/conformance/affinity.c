/* sched_setaffinity is read back by sched_getaffinity and inherited by a
 * child; an empty mask is EINVAL, a negative pid ESRCH, a buffer smaller
 * than the kernel's mask EINVAL; another user's process is EPERM for
 * sched_setaffinity, sched_setscheduler and setpriority. */
#include "conf.h"
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>

int main(void) {
    cpu_set_t all, one, got;
    CPU_ZERO(&all);
    if (sched_getaffinity(0, sizeof all, &all) != 0) return 1;
    say("at start: %s", CPU_COUNT(&all) >= 1 ? "some CPUs" : "none");
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    say("set {0}: %d", sched_setaffinity(0, sizeof one, &one));
    sched_getaffinity(0, sizeof got, &got);
    say("read back: count %d, cpu0 %d", CPU_COUNT(&got), CPU_ISSET(0, &got));
    pid_t c = fork();
    if (c == 0) {
        cpu_set_t in;
        sched_getaffinity(0, sizeof in, &in);
        _exit(CPU_COUNT(&in) == 1 && CPU_ISSET(0, &in) ? 0 : 1);
    }
    int st;
    waitpid(c, &st, 0);
    say("child inherits it: %s", WEXITSTATUS(st) == 0 ? "yes" : "no");
    cpu_set_t none;
    CPU_ZERO(&none);
    say("empty mask: %s", sched_setaffinity(0, sizeof none, &none) == 0 ? "ok" : errname(errno));
    say("pid -1: %s", sched_getaffinity(-1, sizeof got, &got) == 0 ? "ok" : errname(errno));
    long r = syscall(SYS_sched_getaffinity, 0, 4, &got);
    say("4-byte buffer: %s", r >= 0 ? "ok" : errname(errno));
    say("restore: %d", sched_setaffinity(0, sizeof all, &all));

    pid_t parent = getpid();
    c = fork();
    if (c == 0) {
        if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) _exit(2);
        say("other user: setaffinity %s", sched_setaffinity(parent, sizeof all, &all) == 0 ? "ok" : errname(errno));
        struct sched_param sp = {0};
        say("other user: setscheduler %s", sched_setscheduler(parent, SCHED_OTHER, &sp) == 0 ? "ok" : errname(errno));
        say("other user: setpriority %s", setpriority(PRIO_PROCESS, parent, 5) == 0 ? "ok" : errname(errno));
        say("own: setaffinity %s", sched_setaffinity(0, sizeof all, &all) == 0 ? "ok" : errname(errno));
        say("own: setpriority %s", setpriority(PRIO_PROCESS, 0, 5) == 0 ? "ok" : errname(errno));
        _exit(0);
    }
    waitpid(c, &st, 0);
    return 0;
}
