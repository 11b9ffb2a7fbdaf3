/* write(2) and writev(2) to stdout, and their return values. */
#include "conf.h"
#include <sys/uio.h>

int main(void) {
    ssize_t n = write(1, "hello\n", 6);
    say("write returned %zd", n);

    n = write(1, "", 0);
    say("write of 0 bytes returned %zd", n);

    struct iovec iov[3] = {
        {.iov_base = "one ", .iov_len = 4},
        {.iov_base = "", .iov_len = 0},
        {.iov_base = "two\n", .iov_len = 4},
    };
    n = writev(1, iov, 3);
    say("writev returned %zd", n);

    n = writev(1, iov, 0);
    say("writev of 0 iovecs returned %zd", n);

    REPORT("writev with iovcnt -1", syscall(SYS_writev, 1, iov, -1));

    n = syscall(SYS_write, 1, "raw\n", 4);
    say("raw SYS_write returned %zd", n);
    return 0;
}
