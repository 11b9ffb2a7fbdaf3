/* read(2) on stdin at end of file (/dev/null) returns 0, repeatedly. */
#include "conf.h"

int main(void) {
    char buf[16];
    ssize_t a = read(0, buf, sizeof buf);
    ssize_t b = read(0, buf, sizeof buf);
    ssize_t z = read(0, buf, 0);
    say("first read returned %zd", a);
    say("second read returned %zd", b);
    say("zero-length read returned %zd", z);
    return 0;
}
