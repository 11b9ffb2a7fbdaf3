/* Scheduling attributes (sched_* policies and priorities, nice values with
 * get/setpriority, inherited by fork) and the mlock/msync family's
 * argument checks. Runs as root, like the container's init. */
#include "conf.h"
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

int main(void) {
    struct timespec ts = {9, 9};
    REPORT("sched_rr_get_interval", syscall(SYS_sched_rr_get_interval, 0, &ts));
    say("  SCHED_OTHER slice %ld.%09ld", (long)ts.tv_sec, ts.tv_nsec);
    say("getscheduler: %d", sched_getscheduler(0));
    say("priority ranges: FIFO %d..%d RR %d..%d OTHER %d..%d BATCH %d..%d IDLE %d..%d",
        sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO), sched_get_priority_min(SCHED_RR),
        sched_get_priority_max(SCHED_RR), sched_get_priority_min(SCHED_OTHER), sched_get_priority_max(SCHED_OTHER),
        sched_get_priority_min(SCHED_BATCH), sched_get_priority_max(SCHED_BATCH), sched_get_priority_min(SCHED_IDLE),
        sched_get_priority_max(SCHED_IDLE));
    REPORT("priority max of policy 4", sched_get_priority_max(4));
    REPORT("priority min of policy 99", sched_get_priority_min(99));
    struct sched_param p = {0};
    REPORT("setscheduler FIFO priority 0", sched_setscheduler(0, SCHED_FIFO, &p));
    p.sched_priority = 10;
    REPORT("setscheduler BATCH priority 10", sched_setscheduler(0, SCHED_BATCH, &p));
    REPORT("setscheduler policy 4", sched_setscheduler(0, 4, &p));
    REPORT("setscheduler DEADLINE", sched_setscheduler(0, SCHED_DEADLINE, &p));
    REPORT("setscheduler NULL param", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, 0));
    REPORT("setscheduler pid -1", sched_setscheduler(-1, SCHED_OTHER, &p));
    REPORT("setscheduler no such pid", sched_setscheduler(999999, SCHED_OTHER, &p));
    p.sched_priority = 0;
    REPORT("setscheduler BATCH", sched_setscheduler(0, SCHED_BATCH, &p));
    say("getscheduler: %d", sched_getscheduler(0));
    REPORT("setparam priority 5 under BATCH", sched_setparam(0, &(struct sched_param){5}));
    REPORT("getparam", sched_getparam(0, &p));
    say("  priority %d", p.sched_priority);
    REPORT("setscheduler IDLE|RESET_ON_FORK", sched_setscheduler(0, SCHED_IDLE | SCHED_RESET_ON_FORK, &p));
    say("getscheduler: %#x", sched_getscheduler(0));

    REPORT("raw getpriority", syscall(SYS_getpriority, PRIO_PROCESS, 0));
    REPORT("setpriority 5", setpriority(PRIO_PROCESS, 0, 5));
    say("  nice now %d", getpriority(PRIO_PROCESS, 0));
    REPORT("setpriority -25 (clamped)", setpriority(PRIO_PROCESS, 0, -25));
    say("  nice now %d", getpriority(PRIO_PROCESS, 0));
    REPORT("setpriority 40 (clamped)", setpriority(PRIO_PROCESS, 0, 40));
    say("  nice now %d", getpriority(PRIO_PROCESS, 0));
    REPORT("setpriority bad which", setpriority(7, 0, 0));
    REPORT("getpriority no such pid", syscall(SYS_getpriority, PRIO_PROCESS, 999999));
    setpriority(PRIO_PROCESS, 0, 0);
    REPORT("getpriority own group at nice 0", syscall(SYS_getpriority, PRIO_PGRP, 0));
    setpriority(PRIO_PROCESS, 0, 3);
    pid_t pid = fork();
    if (pid == 0) {
        /* RESET_ON_FORK resets only real-time policies and negative nice
         * values; the flag itself is not inherited. */
        say("child: policy %d nice %d", sched_getscheduler(0), getpriority(PRIO_PROCESS, 0));
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);

    int x = 1;
    void *page = (void *)((unsigned long)&x & ~4095UL);
    REPORT("mlock", mlock(&x, sizeof x));
    REPORT("munlock", munlock(&x, sizeof x));
    REPORT("mlock unmapped", mlock((void *)0x1000, 4096));
    REPORT("mlock2 bad flags", syscall(SYS_mlock2, &x, sizeof x, 2));
    REPORT("mlock2 ONFAULT", syscall(SYS_mlock2, &x, sizeof x, 1));
    REPORT("mlockall CURRENT", mlockall(MCL_CURRENT));
    REPORT("mlockall 0", mlockall(0));
    REPORT("mlockall ONFAULT alone", mlockall(MCL_ONFAULT));
    REPORT("munlockall", munlockall());
    REPORT("msync", msync(page, 4096, MS_SYNC));
    REPORT("msync ASYNC|SYNC", msync(page, 4096, MS_SYNC | MS_ASYNC));
    REPORT("msync unaligned", msync((char *)page + 1, 4096, MS_SYNC));
    REPORT("msync bad flags", msync(page, 4096, 8));
    REPORT("msync unmapped", msync((void *)0x1000, 4096, MS_SYNC));
    return 0;
}
