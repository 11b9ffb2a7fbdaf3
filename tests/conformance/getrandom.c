/* getrandom(2) fills the requested length; bad flags are rejected. */
#include "conf.h"
#include <sys/random.h>

int main(void) {
    unsigned char buf[256] = {0};
    say("getrandom 64: %zd", getrandom(buf, 64, 0));
    int nonzero = 0;
    for (int i = 0; i < 64; i++) nonzero |= buf[i];
    say("not all zero: %s", YN(nonzero));
    say("bytes past the request untouched: %s", YN(buf[64] == 0 && buf[255] == 0));
    say("getrandom 16 nonblock: %zd", getrandom(buf, 16, GRND_NONBLOCK));
    say("getrandom 0: %zd", getrandom(buf, 0, 0));
    REPORT("bad flags", getrandom(buf, 16, 0x100));
    REPORT("bad pointer", syscall(SYS_getrandom, (void *)8, 16, 0));
    return 0;
}
