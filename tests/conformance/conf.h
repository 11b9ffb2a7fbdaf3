/* Shared helpers for the differential conformance programs.
 *
 * Each program checks one Linux behaviour and prints deterministic lines
 * (never pids, addresses, times or the uname version) with raw write(2),
 * so its output is byte-identical natively and inside moat when moat is
 * right. Built with `gcc -static -O1`; see tests/tests/conformance.rs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Formats and writes one line to fd 1 with a single raw write. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void say(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
    buf[n++] = '\n';
    (void)!write(1, buf, n);
}

/* Symbolic name of the errnos the programs expect; numbers otherwise. */
__attribute__((unused)) static const char *errname(int e) {
    static char other[32];
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case ENOTTY: return "ENOTTY";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case ECHILD: return "ECHILD";
    case EINTR: return "EINTR";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EACCES: return "EACCES";
    case EISDIR: return "EISDIR";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case EXDEV: return "EXDEV";
    case E2BIG: return "E2BIG";
    case ENOSPC: return "ENOSPC";
    case EROFS: return "EROFS";
    case ELOOP: return "ELOOP";
    case EBUSY: return "EBUSY";
    case ESPIPE: return "ESPIPE";
    case EPIPE: return "EPIPE";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EINPROGRESS: return "EINPROGRESS";
    case EALREADY: return "EALREADY";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENETUNREACH: return "ENETUNREACH";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EMSGSIZE: return "EMSGSIZE";
    case ECONNABORTED: return "ECONNABORTED";
    case ECONNRESET: return "ECONNRESET";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case ENOTSOCK: return "ENOTSOCK";
    case ENODEV: return "ENODEV";
    case EDOM: return "EDOM";
    }
    snprintf(other, sizeof other, "errno%d", e);
    return other;
}

/* "yes"/"no" for a boolean. */
#define YN(x) ((x) ? "yes" : "no")

/* Prints `label: ret=R errno=E` for a call returning -1/errno. */
#define REPORT(label, expr)                                             \
    do {                                                                \
        errno = 0;                                                      \
        long r_ = (long)(expr);                                         \
        say("%s: ret=%ld errno=%s", label, r_, errname(r_ < 0 ? errno : 0)); \
    } while (0)
