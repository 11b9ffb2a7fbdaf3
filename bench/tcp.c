/* TCP throughput over loopback: a forked child connects to 127.0.0.1 and
 * writes MIB mebibytes in 256 KiB writes; the parent accepts, reads it
 * all and prints `gbit_per_s R` (wall time from accept to the last byte).
 * Usage: tcp MIB */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

int main(int argc, char **argv) {
    long long total = (argc > 1 ? atoll(argv[1]) : 1024) << 20;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &al)) {
        perror("listen");
        return 1;
    }
    static char buf[CHUNK];
    pid_t pid = fork();
    if (pid == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof a)) {
            perror("connect");
            _exit(1);
        }
        for (long long sent = 0; sent < total;) {
            long long want = total - sent < CHUNK ? total - sent : CHUNK;
            ssize_t n = write(c, buf, want);
            if (n <= 0) {
                perror("write");
                _exit(1);
            }
            sent += n;
        }
        _exit(0);
    }
    int s = accept(l, NULL, NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long long got = 0;
    for (;;) {
        ssize_t n = read(s, buf, CHUNK);
        if (n <= 0) break;
        got += n;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int status;
    waitpid(pid, &status, 0);
    if (got != total || status != 0) {
        fprintf(stderr, "tcp: got %lld of %lld bytes (child status %d)\n", got, total, status);
        return 1;
    }
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("gbit_per_s %.2f\n", total * 8 / secs / 1e9);
    return 0;
}
