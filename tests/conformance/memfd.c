/* memfd_create: an anonymous read-write file (size, data, lseek,
 * ftruncate), MFD_CLOEXEC, its /proc/self/fd link, a MAP_SHARED mapping
 * that meets write(2) and a child's stores, the flag and name errors,
 * and seals: F_GET_SEALS without and with MFD_ALLOW_SEALING, F_ADD_SEALS
 * of SHRINK, GROW, WRITE (then EPERM for writes, ftruncate, writable
 * shared mmap) and SEAL, EINVAL on a non-memfd. */
#include "conf.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 8U
#define MFD_EXEC 0x10U
#endif

int main(void) {
    int fd = memfd_create("conf-test", MFD_CLOEXEC);
    struct stat st;
    fstat(fd, &st);
    say("memfd: ok=%s flags=%#x cloexec=%d type=%o mode=%o size=%ld", YN(fd >= 0), fcntl(fd, F_GETFL),
        fcntl(fd, F_GETFD), st.st_mode & S_IFMT, st.st_mode & 07777, (long)st.st_size);
    char link[128] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    long r = readlink(path, link, sizeof link - 1);
    say("link: %s", link);
    REPORT("write", write(fd, "hello world", 11));
    REPORT("lseek 0", lseek(fd, 0, SEEK_SET));
    char buf[32] = {0};
    r = read(fd, buf, sizeof buf);
    say("read: %ld %s", r, buf);
    REPORT("ftruncate 8192", ftruncate(fd, 8192));
    fstat(fd, &st);
    say("size: %ld", (long)st.st_size);

    char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    say("mmap shared: ok=%s sees write: %.5s", YN(m != MAP_FAILED), m);
    pid_t child = fork();
    if (child == 0) {
        memcpy(m + 4096, "from child", 10);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    memset(buf, 0, sizeof buf);
    pread(fd, buf, 10, 4096);
    say("pread sees child's store: %s", buf);
    pwrite(fd, "HELLO", 5, 0);
    say("mapping sees pwrite: %.11s", m);
    munmap(m, 8192);
    REPORT("F_GET_SEALS without sealing", fcntl(fd, F_GET_SEALS));
    REPORT("F_ADD_SEALS without sealing", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));

    int s = memfd_create("sealed", MFD_ALLOW_SEALING);
    (void)!write(s, "abcd", 4);
    REPORT("F_GET_SEALS", fcntl(s, F_GET_SEALS));
    REPORT("add SHRINK|GROW", fcntl(s, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
    REPORT("F_GET_SEALS", fcntl(s, F_GET_SEALS));
    REPORT("truncate smaller", ftruncate(s, 2));
    REPORT("truncate bigger", ftruncate(s, 4096));
    REPORT("pwrite inside", pwrite(s, "xy", 2, 1));
    REPORT("pwrite past end", pwrite(s, "xy", 2, 3));
    REPORT("add WRITE", fcntl(s, F_ADD_SEALS, F_SEAL_WRITE));
    REPORT("pwrite sealed", pwrite(s, "z", 1, 0));
    REPORT("write sealed", write(s, "z", 1));
    void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
    say("writable shared mmap: %s errno=%s", YN(w != MAP_FAILED), errname(w == MAP_FAILED ? errno : 0));
    void *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, s, 0);
    say("read-only shared mmap: %s", YN(ro != MAP_FAILED));
    say("  reads: %.4s", ro == MAP_FAILED ? "" : (char *)ro);
    REPORT("add SEAL", fcntl(s, F_ADD_SEALS, F_SEAL_SEAL));
    REPORT("add after SEAL", fcntl(s, F_ADD_SEALS, F_SEAL_GROW));
    REPORT("F_GET_SEALS", fcntl(s, F_GET_SEALS));
    REPORT("add bad seal", fcntl(memfd_create("x", MFD_ALLOW_SEALING), F_ADD_SEALS, 0x1000));

    int ro_fd;
    snprintf(path, sizeof path, "/proc/self/fd/%d", s);
    ro_fd = open(path, O_RDONLY);
    say("reopen via /proc: ok=%s", YN(ro_fd >= 0));

    REPORT("seals of a pipe", ({ int p[2]; pipe(p); fcntl(p[0], F_GET_SEALS); }));
    REPORT("bad flags", memfd_create("x", 0x100));
    REPORT("EXEC|NOEXEC_SEAL", memfd_create("x", MFD_EXEC | MFD_NOEXEC_SEAL));
    char longname[300];
    memset(longname, 'a', sizeof longname);
    longname[249] = 0;
    REPORT("249-byte name", memfd_create(longname, 0) >= 0 ? 0 : -1);
    longname[249] = 'a';
    longname[250] = 0;
    REPORT("250-byte name", memfd_create(longname, 0));
    REPORT("bad name pointer", memfd_create((char *)8, 0));
    int nx = memfd_create("noexec", MFD_NOEXEC_SEAL);
    fstat(nx, &st);
    say("NOEXEC_SEAL: mode=%o seals=%#x", st.st_mode & 07777, fcntl(nx, F_GET_SEALS));
    REPORT("chmod +x under SEAL_EXEC", fchmod(nx, 0755));
    return 0;
}
