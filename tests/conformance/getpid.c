/* Process identity relations (never the values themselves). */
#include "conf.h"

int main(void) {
    pid_t pid = getpid();
    pid_t tid = (pid_t)syscall(SYS_gettid);
    pid_t ppid = getppid();
    say("getpid() > 0: %s", YN(pid > 0));
    say("getpid() == gettid(): %s", YN(pid == tid));
    say("getpid() is stable: %s", YN(getpid() == pid && syscall(SYS_getpid) == pid));
    say("getppid() != getpid(): %s", YN(ppid != pid));
    say("getppid() >= 0: %s", YN(ppid >= 0));
    return 0;
}
