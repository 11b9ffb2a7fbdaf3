/* MAP_SHARED mappings of a file in /dev/shm: stores through a mapping are
 * seen by read(2), by other mappings and by a forked child, and write(2)
 * is seen through the mappings; MAP_PRIVATE stays a private copy. */
#include "conf.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

int main(void) {
    const char *path = "/dev/shm/moat-conf-shm-mmap";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ftruncate(fd, 8192);
    char *a = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *b = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *priv = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    strcpy(a + 4096, "through a");
    say("b sees: %s", b + 4096);
    char buf[16] = {0};
    pread(fd, buf, 9, 4096);
    say("read sees: %s", buf);
    pwrite(fd, "written", 7, 0);
    say("mapping sees write: %.7s", a);
    priv[0] = 'X';
    say("private copy stays private: %c %c", priv[0], a[0]);
    pid_t pid = fork();
    if (pid == 0) {
        strcpy(a + 100, "from the child");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    say("parent sees the child's store: %s", b + 100);
    int ro = open(path, O_RDONLY);
    REPORT("writable shared map of a read-only fd", mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED ? -1 : 0);
    unlink(path);
    return 0;
}
