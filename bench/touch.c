/* Page-touch cost: map N MiB of anonymous memory and write one byte per
 * page. Prints "ns_per_page X". Build: gcc -static -O2; run: touch [MiB]
 * [hold] (with `hold`, it then keeps the memory until killed). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 256;
    size_t len = (size_t)mib << 20;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (size_t off = 0; off < len; off += 4096) p[off] = 1;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    printf("ns_per_page %.1f\n", ns / (len / 4096));
    if (argc > 2 && strcmp(argv[2], "hold") == 0) {
        fflush(stdout);
        for (;;) pause();
    }
    return 0;
}
