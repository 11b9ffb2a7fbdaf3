/* File tree costs: `tar -x` of an archive into OUT (busybox tar, run as a
 * child and timed whole), then a walk of TREE that stats every entry, as
 * `find` does (nftw, not following links). Prints "untar_ms X",
 * "walk_ms X" and "walk_entries N".
 * Build: gcc -static -O2; run: tree BUSYBOX ARCHIVE OUT TREE */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static long entries;

static int count(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)path, (void)st, (void)type, (void)ftw;
    entries++;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: tree BUSYBOX ARCHIVE OUT TREE\n");
        return 2;
    }
    double t = now();
    pid_t child = fork();
    if (child == 0) {
        execl(argv[1], "tar", "-xf", argv[2], "-C", argv[3], (char *)NULL);
        perror("exec tar");
        _exit(127);
    }
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "tar -x failed (status %d)\n", status);
        return 1;
    }
    printf("untar_ms %.1f\n", (now() - t) * 1e3);
    t = now();
    if (nftw(argv[4], count, 64, FTW_PHYS) != 0) {
        perror("nftw");
        return 1;
    }
    printf("walk_ms %.1f\n", (now() - t) * 1e3);
    printf("walk_entries %ld\n", entries);
    return 0;
}
