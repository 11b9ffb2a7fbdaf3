/* futex(2) on one thread: value mismatch, timeouts, wakes with no waiter,
 * argument checks. */
#include "conf.h"
#include <linux/futex.h>
#include <stdint.h>
#include <time.h>

static long fx(uint32_t *addr, int op, uint32_t val, const struct timespec *ts, uint32_t *addr2, uint32_t val3) {
    return syscall(SYS_futex, addr, op, val, ts, addr2, val3);
}

int main(void) {
    static uint32_t word = 5, other = 0;
    struct timespec short_wait = {0, 20 * 1000 * 1000};

    REPORT("WAIT on a changed value", fx(&word, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0));
    REPORT("WAIT with a timeout", fx(&word, FUTEX_WAIT_PRIVATE, 5, &short_wait, NULL, 0));
    REPORT("WAKE with no waiter", fx(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    REPORT("WAIT_BITSET with bitset 0", fx(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, NULL, NULL, 0));
    REPORT("WAKE on a misaligned word", fx((uint32_t *)((char *)&word + 1), FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    REPORT("CMP_REQUEUE with a changed value", fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &other, 4));
    REPORT("CMP_REQUEUE with no waiter", fx(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1, &other, 5));
    struct timespec bad = {0, 2000000000L};
    REPORT("WAIT with a bad timeout", fx(&word, FUTEX_WAIT_PRIVATE, 5, &bad, NULL, 0));

    /* An absolute WAIT_BITSET deadline in the past returns at once. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    REPORT("WAIT_BITSET past deadline", fx(&word, FUTEX_WAIT_BITSET_PRIVATE, 5, &now, NULL, FUTEX_BITSET_MATCH_ANY));
    return 0;
}
