/* Cost of one system call: N raw getpid() calls between two
 * clock_gettime(CLOCK_MONOTONIC) reads. Prints "ns_per_call X". Then the
 * cost of one libc clock_gettime (the vDSO's, when there is one) over 10 N
 * calls: "ns_per_clock Y".
 * Build: gcc -static -O2 -o getpid getpid.c; run: getpid [N] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    if (n <= 0) {
        fprintf(stderr, "usage: getpid [N>0]\n");
        return 2;
    }
    for (long i = 0; i < n / 100 + 10; i++) syscall(SYS_getpid); /* warm up */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) syscall(SYS_getpid);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("ns_per_call %.1f\n", ns / n);

    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < 10 * n; i++) clock_gettime(CLOCK_MONOTONIC, &t);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("ns_per_clock %.1f\n", ns / (10 * n));
    return 0;
}
