/* prctl PR_SET_NAME / PR_GET_NAME, PR_SET_PDEATHSIG round trip, and
 * sched_getaffinity returning a non-empty mask. */
#include "conf.h"
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>

int main(void) {
    char name[16] = {0};
    REPORT("PR_SET_NAME", prctl(PR_SET_NAME, "worker-one", 0, 0, 0));
    prctl(PR_GET_NAME, name, 0, 0, 0);
    say("name: %s", name);
    prctl(PR_SET_NAME, "a-much-longer-thread-name", 0, 0, 0);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    say("long name cut: %s", name);
    int sig = -1;
    REPORT("PR_SET_PDEATHSIG", prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0));
    prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
    say("pdeathsig: %d", sig);
    REPORT("PR_SET_PDEATHSIG bad", prctl(PR_SET_PDEATHSIG, 99, 0, 0, 0));
    say("dumpable: %d", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    say("dumpable after clearing: %d", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
    say("keepcaps: %d", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    cpu_set_t set;
    CPU_ZERO(&set);
    REPORT("sched_getaffinity", sched_getaffinity(0, sizeof set, &set) == 0 ? 0 : -1);
    say("some cpu: %s", YN(CPU_COUNT(&set) > 0));
    return 0;
}
