/* sysfs: the CPU files glibc reads for sysconf(_SC_NPROCESSORS_ONLN), the
 * cpuN directories, the affinity mask's count, and loopback's attributes
 * in /sys/class/net/lo; a write refused on the read-only mount. */
#define _GNU_SOURCE
#include "conf.h"
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

static void show(const char *path)
{
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        say("%s: %s", path, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && buf[n - 1] == '\n')
        buf[n - 1] = 0;
    say("%s: [%s]", path, buf);
}

int main(void)
{
    show("/sys/devices/system/cpu/online");
    cpu_set_t set;
    sched_getaffinity(0, sizeof set, &set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    say("sysconf online == affinity count: %s", YN(online == CPU_COUNT(&set)));
    struct stat st;
    say("cpu0 is a directory: %s", YN(stat("/sys/devices/system/cpu/cpu0", &st) == 0 && S_ISDIR(st.st_mode)));
    char p[64];
    snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu%ld", online);
    say("cpu%ld (one past the last): %s", online, stat(p, &st) == 0 ? "exists" : errname(errno));
    struct statfs sf;
    say("statfs magic: %#lx", statfs("/sys/devices", &sf) == 0 ? (unsigned long)sf.f_type : 0UL);
    const char *lo[] = {"address", "addr_len", "flags", "ifindex", "mtu", "type"};
    for (unsigned i = 0; i < sizeof lo / sizeof *lo; i++) {
        snprintf(p, sizeof p, "/sys/class/net/lo/%s", lo[i]);
        show(p);
    }
    show("/sys/class/net/no-such-interface/mtu");
    /* /sys read-only, as runc's spec mounts it (in a private mount
     * namespace natively, so the host keeps its own): a write is EROFS. */
    say("private namespace: %s", unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0
                                     ? "ok" : errname(errno));
    say("remount /sys read-only: %s",
        mount(NULL, "/sys", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0 ? "ok" : errname(errno));
    int fd = open("/sys/devices/system/cpu/online", O_WRONLY);
    say("open online for writing: %s", fd >= 0 ? "ok" : errname(errno));
    return 0;
}
