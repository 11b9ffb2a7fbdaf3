/* File system costs in directory DIR: sequential write then read of an
 * N MiB file (1 MiB writes/reads; MB/s), stat of one file (ns per call),
 * and create+unlink of small files (us per pair). Prints
 * "write_mb_s X", "read_mb_s X", "stat_ns X", "create_unlink_us X".
 * Build: gcc -static -O2; run: files DIR [MiB] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: files DIR [MiB]\n");
        return 2;
    }
    const char *dir = argv[1];
    long mib = argc > 2 ? atol(argv[2]) : 256;
    static char buf[1 << 20];
    memset(buf, 'm', sizeof buf);
    char path[4096];
    snprintf(path, sizeof path, "%s/bench-files.dat", dir);

    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    double t = now();
    for (long i = 0; i < mib; i++)
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
            perror("write");
            return 1;
        }
    close(fd);
    printf("write_mb_s %.1f\n", mib / (now() - t));

    fd = open(path, O_RDONLY);
    t = now();
    long got = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) got += n;
    close(fd);
    if (got != mib << 20) {
        fprintf(stderr, "read %ld bytes, wanted %ld\n", got, mib << 20);
        return 1;
    }
    printf("read_mb_s %.1f\n", mib / (now() - t));

    struct stat st;
    const long stats = 100000;
    t = now();
    for (long i = 0; i < stats; i++) stat(path, &st);
    printf("stat_ns %.1f\n", (now() - t) * 1e9 / stats);
    unlink(path);

    const long files = 2000;
    t = now();
    for (long i = 0; i < files; i++) {
        snprintf(path, sizeof path, "%s/bench-files-%ld", dir, i);
        int f = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
        if (f < 0) {
            perror(path);
            return 1;
        }
        close(f);
        unlink(path);
    }
    printf("create_unlink_us %.1f\n", (now() - t) * 1e6 / files);
    return 0;
}
