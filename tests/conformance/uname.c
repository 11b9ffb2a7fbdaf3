/* uname(2): sysname and machine (never version or nodename, which differ). */
#include "conf.h"
#include <sys/utsname.h>

int main(void) {
    struct utsname u;
    say("uname: %d", uname(&u));
    say("sysname: %s", u.sysname);
    say("machine: %s", u.machine);
    say("release nonempty: %s", YN(u.release[0] != 0));
    say("version nonempty: %s", YN(u.version[0] != 0));
    REPORT("bad pointer", syscall(SYS_uname, (void *)8));
    return 0;
}
