/* setgroups, setres[ug]id, setuid, setreuid as root and after dropping
 * root, with the EPERM cases (the program starts as root). */
#include "conf.h"
#include <grp.h>

static void show(void) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    say("uids %u %u %u gids %u %u %u", r, e, s, gr, ge, gs);
}

int main(void) {
    gid_t groups[] = {7, 5, 6}, got[8];
    REPORT("setgroups", syscall(SYS_setgroups, 3, groups));
    int n = getgroups(8, got);
    say("groups: %d (%u %u %u)", n, got[0], got[1], got[2]);
    REPORT("setresgid", syscall(SYS_setresgid, 100, 101, 102));
    REPORT("setresuid", syscall(SYS_setresuid, 1000, 1001, 0));
    show();
    /* euid 1001 now, saved 0: back to root through the saved id. */
    REPORT("setuid(0) via saved id", syscall(SYS_setuid, 0));
    show();
    REPORT("setreuid(1000, 1002)", syscall(SYS_setreuid, 1000, 1002));
    show();
    REPORT("setuid(0) without it", syscall(SYS_setuid, 0));
    REPORT("setresuid to a stranger", syscall(SYS_setresuid, -1, 4242, -1));
    REPORT("setuid to the real id", syscall(SYS_setuid, 1000));
    show();
    REPORT("setgroups unprivileged", syscall(SYS_setgroups, 0, NULL));
    REPORT("setgid unprivileged", syscall(SYS_setgid, 55));
    return 0;
}
