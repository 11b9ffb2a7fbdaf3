/* Helpers for the programs that work in a scratch tree below `top`:
 * paths in it, small files written and read back whole. */
#ifndef SCRATCH_H
#define SCRATCH_H
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* The errno name of a failed call, "0" for success. */
#define R(call) (((call) < 0) ? errname(errno) : "0")

static char top[4096];

/* `top/rel`; four results may be in use at once. */
__attribute__((unused)) static const char *at(const char *rel) {
    static char buf[4][4200];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", top, rel);
    return buf[i];
}

__attribute__((unused)) static void put(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    (void)!write(fd, text, strlen(text));
    close(fd);
}

/* The file's first bytes without a final newline, or the errno name. */
__attribute__((unused)) static const char *slurp(const char *path) {
    static char buf[256];
    int fd = open(path, O_RDONLY);
    if (fd < 0) return errname(errno);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    if (n > 0 && buf[n - 1] == '\n') buf[n - 1] = 0;
    return buf;
}
#endif
