/* mmap(2) argument validation: bad flags, length or address fail with EINVAL,
 * a bad fd with EBADF. */
#include "conf.h"
#include <sys/mman.h>

#define TRY(label, ...)                                                   \
    do {                                                                  \
        errno = 0;                                                        \
        void *r_ = mmap(__VA_ARGS__);                                     \
        say("%s: %s errno=%s", label, r_ == MAP_FAILED ? "MAP_FAILED" : "mapped", \
            errname(r_ == MAP_FAILED ? errno : 0));                       \
    } while (0)

int main(void) {
    TRY("neither shared nor private", NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0);
    TRY("length 0", NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    TRY("fixed unaligned address", (void *)0x10000001, 4096, PROT_READ,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    TRY("file mapping of bad fd", NULL, 4096, PROT_READ, MAP_PRIVATE, 99, 0);
    return 0;
}
