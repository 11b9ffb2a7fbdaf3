/* TCP through a veth pair, for bench/run's (h): a sink in the container, a
 * sender and an HTTP client in the peer namespace.
 *
 *   net sink PORT               accept connections forever; read each to
 *                               EOF, then close it
 *   net serve PORT              a one-process HTTP server: accept, read the
 *                               request, answer 200 with a fixed page,
 *                               close (the network path without a fork)
 *   net send HOST PORT MIB      send MIB MiB on one connection, wait for the
 *                               sink's close; prints "gbit_per_s X"
 *   net http HOST PORT N PATH   N GETs of PATH, each on a fresh connection
 *                               (HTTP/1.0), each answer read to EOF and
 *                               checked for " 200 "; prints "req_per_s X"
 *
 * The clients retry their first connect for up to 5 s (the server may still
 * be starting) and exit 1, printing nothing on stdout, if it never answers. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in addr_of(const char *host, const char *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        fprintf(stderr, "net: bad IPv4 address %s\n", host);
        exit(2);
    }
    return a;
}

/* A connected socket, or -1 once `patience` seconds have passed. */
static int dial(struct sockaddr_in *a, double patience)
{
    double give_up = now() + patience;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) {
            perror("net: socket");
            exit(1);
        }
        if (connect(fd, (struct sockaddr *)a, sizeof *a) == 0)
            return fd;
        int err = errno;
        close(fd);
        if (now() > give_up) {
            fprintf(stderr, "net: connect: %s\n", strerror(err));
            return -1;
        }
        usleep(50000);
    }
}

static int sink(const char *port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 16)) {
        perror("net sink: listen");
        return 1;
    }
    static char buf[1 << 18];
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0) {
            perror("net sink: accept");
            return 1;
        }
        while (read(c, buf, sizeof buf) > 0) {
        }
        close(c);
    }
}

static int serve(const char *port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 128)) {
        perror("net serve: listen");
        return 1;
    }
    static const char page[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\nmoat bench page\n";
    char buf[4096];
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0) {
            perror("net serve: accept");
            return 1;
        }
        /* The request ends with an empty line. */
        ssize_t got = 0, r;
        while ((r = read(c, buf + got, sizeof buf - 1 - got)) > 0) {
            got += r;
            buf[got] = 0;
            if (strstr(buf, "\r\n\r\n") || got == sizeof buf - 1)
                break;
        }
        if (write(c, page, sizeof page - 1) < 0)
            perror("net serve: write");
        close(c);
    }
}

static int sender(const char *host, const char *port, long mib)
{
    struct sockaddr_in a = addr_of(host, port);
    /* Wait for the sink with probe connections that carry nothing. */
    int fd = dial(&a, 5);
    if (fd < 0)
        return 1;
    close(fd);
    fd = dial(&a, 5);
    if (fd < 0)
        return 1;
    static char buf[1 << 18];
    memset(buf, 'x', sizeof buf);
    long long total = mib << 20, sent = 0;
    double t0 = now();
    while (sent < total) {
        long long want = total - sent < (long long)sizeof buf ? total - sent : (long long)sizeof buf;
        ssize_t n = write(fd, buf, want);
        if (n <= 0) {
            perror("net send: write");
            return 1;
        }
        sent += n;
    }
    shutdown(fd, SHUT_WR);
    /* The sink closes once it has read everything. */
    while (read(fd, buf, sizeof buf) > 0) {
    }
    double dt = now() - t0;
    printf("gbit_per_s %.2f\n", total * 8 / dt / 1e9);
    return 0;
}

static int http(const char *host, const char *port, long n, const char *path)
{
    struct sockaddr_in a = addr_of(host, port);
    char req[512], buf[1 << 16];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host);
    int fd = dial(&a, 5);
    if (fd < 0)
        return 1;
    close(fd);
    double t0 = now();
    for (long i = 0; i < n; i++) {
        fd = dial(&a, 1);
        if (fd < 0)
            return 1;
        if (write(fd, req, len) != len) {
            perror("net http: write");
            return 1;
        }
        ssize_t got = 0, r;
        while ((r = read(fd, buf + got, sizeof buf - 1 - got)) > 0 && got + r < (ssize_t)sizeof buf - 1)
            got += r;
        if (r > 0)
            got += r;
        buf[got] = 0;
        close(fd);
        if (!strstr(buf, " 200 ")) {
            fprintf(stderr, "net http: request %ld: no 200 in the answer (%zd bytes)\n", i, got);
            return 1;
        }
    }
    printf("req_per_s %.1f\n", n / (now() - t0));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "sink"))
        return sink(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "serve"))
        return serve(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "send"))
        return sender(argv[2], argv[3], atol(argv[4]));
    if (argc == 6 && !strcmp(argv[1], "http"))
        return http(argv[2], argv[3], atol(argv[4]), argv[5]);
    fprintf(stderr, "usage: net sink PORT | serve PORT | send HOST PORT MIB | http HOST PORT N PATH\n");
    return 2;
}
