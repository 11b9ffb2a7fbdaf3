/* alarm and ITIMER_REAL: return values, SIGALRM delivery, re-arming,
 * disarming, and a periodic timer. */
#include "conf.h"
#include <signal.h>
#include <sys/time.h>

static volatile int alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

int main(void) {
    signal(SIGALRM, on_alarm);
    say("alarm(10) with none armed: %u", alarm(10));
    say("alarm(0) leaves ~10: %s", YN(alarm(0) == 10));
    say("alarm(0) again: %u", alarm(0));

    struct itimerval it = {{0, 0}, {0, 50000}}, old;
    REPORT("setitimer 50ms", setitimer(ITIMER_REAL, &it, NULL));
    pause();
    say("alarms after one shot: %d", alarms);

    struct itimerval periodic = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_REAL, &periodic, NULL);
    while (alarms < 4) pause();
    getitimer(ITIMER_REAL, &old);
    say("interval kept: %ld us", (long)old.it_interval.tv_usec);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, &old);
    say("old interval reported: %ld us", (long)old.it_interval.tv_usec);
    getitimer(ITIMER_REAL, &old);
    say("disarmed: %s", YN(old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0));

    struct itimerval bad = {{0, 0}, {0, 2000000}};
    REPORT("setitimer bad usec", setitimer(ITIMER_REAL, &bad, NULL));
    REPORT("setitimer bad which", setitimer(7, &it, NULL));
    return 0;
}
