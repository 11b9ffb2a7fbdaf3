/* I/O on descriptors that are not open fails with EBADF. */
#include "conf.h"
#include <sys/uio.h>

int main(void) {
    REPORT("write(99)", write(99, "x", 1));
    REPORT("write(-1)", write(-1, "x", 1));
    struct iovec iov = {.iov_base = "x", .iov_len = 1};
    REPORT("writev(99)", writev(99, &iov, 1));
    char c;
    REPORT("read(99)", read(99, &c, 1));
    REPORT("close(99)", close(99));
    return 0;
}
