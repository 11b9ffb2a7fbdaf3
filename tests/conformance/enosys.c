/* An unknown system call number fails with ENOSYS and nothing else happens. */
#include "conf.h"

int main(void) {
    REPORT("syscall(1000)", syscall(1000, 1, 2, 3));
    REPORT("syscall(500)", syscall(500));
    say("still alive");
    return 0;
}
