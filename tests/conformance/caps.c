/* Capabilities as state: capget/capset, the bounding set, ambient rules,
 * what a uid change does to the sets, and the checks they gate
 * (sethostname, setuid, chown, reading a file mode 000). Runs as root
 * with every capability (the harness gives the sandbox the same). */
#define _GNU_SOURCE
#include "conf.h"
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>

static int capget_(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d)
{
    return syscall(SYS_capget, h, d);
}
static int capset_(struct __user_cap_header_struct *h, struct __user_cap_data_struct *d)
{
    return syscall(SYS_capset, h, d);
}

static void show(const char *when)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    int r = capget_(&h, d);
    unsigned long long eff = d[0].effective | (unsigned long long)d[1].effective << 32;
    unsigned long long prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
    unsigned long long inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
    say("%s: capget %d, eff has SETUID %d SYS_ADMIN %d CHOWN %d, eff==prm %d, inh %llx", when, r,
           (int)(eff >> CAP_SETUID & 1), (int)(eff >> CAP_SYS_ADMIN & 1), (int)(eff >> CAP_CHOWN & 1), eff == prm,
           inh);
}

static void drop(int cap)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    capget_(&h, d);
    d[cap / 32].effective &= ~(1u << (cap % 32));
    d[cap / 32].permitted &= ~(1u << (cap % 32));
    int r = capset_(&h, d);
    say("drop %d: %d", cap, r);
}

int main(void)
{
    show("start");
    struct __user_cap_header_struct h = {0x12345678, 0};
    struct __user_cap_data_struct d[2];
    REPORT("bad version", capget_(&h, d));
    say("version written back: %#x", h.version);
    h.version = _LINUX_CAPABILITY_VERSION_3;
    REPORT("capget with a NULL data pointer", capget_(&h, NULL));
    h.pid = 999999;
    REPORT("capget of a missing pid", capget_(&h, d));

    REPORT("bounding has SYS_ADMIN", prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN));
    REPORT("bounding read of cap 63", prctl(PR_CAPBSET_READ, 63));
    REPORT("ambient raise without inheritable", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0));

    /* Raising a permitted capability that was dropped is refused. */
    drop(CAP_SYS_ADMIN);
    show("after dropping SYS_ADMIN");
    REPORT("sethostname", sethostname("x", 1));
    h.pid = 0;
    capget_(&h, d);
    d[CAP_SYS_ADMIN / 32].permitted |= 1u << (CAP_SYS_ADMIN % 32);
    REPORT("raising it again", capset_(&h, d));
    REPORT("bounding drop of SYS_BOOT", prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT));
    REPORT("bounding read of SYS_BOOT", prctl(PR_CAPBSET_READ, CAP_SYS_BOOT));

    /* A file nobody may read: root reads it with DAC_OVERRIDE, not without. */
    const char *path = "/tmp/conf-caps-file";
    unlink(path);
    int fd = open(path, O_CREAT | O_WRONLY, 0);
    say("create mode 000: %s", fd >= 0 ? "ok" : errname(errno));
    close(fd);
    fd = open(path, O_RDONLY);
    say("read it with DAC_OVERRIDE: %s", fd >= 0 ? "ok" : errname(errno));
    if (fd >= 0)
        close(fd);
    drop(CAP_DAC_OVERRIDE);
    drop(CAP_DAC_READ_SEARCH);
    fd = open(path, O_RDONLY);
    say("read it without: %s", fd >= 0 ? "ok" : errname(errno));
    if (fd >= 0)
        close(fd);
    REPORT("chown with CHOWN", chown(path, 1000, 1000));
    drop(CAP_CHOWN);
    REPORT("chown back without", chown(path, 0, 0));
    unlink(path);

    /* setuid to a user: permitted and effective are cleared; with
     * keepcaps only effective. */
    pid_t pid = fork();
    if (pid == 0) {
        REPORT("child setuid(1000)", setuid(1000));
        show("child after setuid");
        REPORT("child setuid(0) back", setuid(0));
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_KEEPCAPS, 1);
        REPORT("keepcaps child setresuid(1000,1000,1000)", setresuid(1000, 1000, 1000));
        show("keepcaps child after setuid");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    drop(CAP_SETUID);
    REPORT("setuid(1000) without SETUID", setuid(1000));
    return 0;
}
