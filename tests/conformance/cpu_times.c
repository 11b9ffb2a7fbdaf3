/* getrusage, times and the CPU-time clocks move with work done, and a
 * reaped child's time shows up as the children's time. */
#include "conf.h"
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>

static volatile unsigned long sink;
static void spin(long n) {
    for (long i = 0; i < n; i++) sink += i;
}
static double secs(struct timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

int main(void) {
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    spin(200 * 1000 * 1000);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    double used = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    say("process CPU clock moved: %s", YN(used > 0.01));
    struct rusage ru;
    REPORT("getrusage self", getrusage(RUSAGE_SELF, &ru));
    say("user time counted: %s", YN(secs(ru.ru_utime) > 0.01));
    REPORT("getrusage bad who", getrusage(42, &ru));

    getrusage(RUSAGE_CHILDREN, &ru);
    say("no children yet: %s", YN(secs(ru.ru_utime) < 0.01));
    pid_t pid = fork();
    if (pid == 0) {
        spin(200 * 1000 * 1000);
        _exit(0);
    }
    struct rusage child;
    int st;
    wait4(pid, &st, 0, &child);
    say("wait4 reports the child's time: %s", YN(secs(child.ru_utime) > 0.01));
    getrusage(RUSAGE_CHILDREN, &ru);
    say("children's time after reaping: %s", YN(secs(ru.ru_utime) > 0.01));
    struct tms t;
    clock_t now = times(&t);
    say("times: children user ticks > 0: %s, clock moves: %s", YN(t.tms_cutime > 0), YN(now != (clock_t)-1));
    return 0;
}
