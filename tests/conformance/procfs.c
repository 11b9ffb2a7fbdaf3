/* procfs: /proc/self and the caller's own entries (exe, cmdline, stat,
 * status, fd), the system files' shapes (meminfo, cpuinfo, uptime,
 * loadavg, version, sys/{kernel,fs,vm}), the listing of /proc, its statfs type.
 * Prints relations only: pids and sizes differ between the runs. */
#include "conf.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>

static char data[65536];

/* Reads the whole file into `data`; returns its length or -errno. */
static long slurp(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -errno;
    long total = 0, n;
    while ((n = read(fd, data + total, sizeof data - 1 - total)) > 0) total += n;
    close(fd);
    data[total] = 0;
    return total;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "child") == 0) {
        prctl(PR_SET_NAME, "procfs-kid");
        write(3, "", 1);
        pause();
        return 0;
    }
    char buf[4096];
    ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    say("readlink /proc/self is getpid(): %s", YN(n > 0 && atoi(buf) == getpid()));

    n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    say("exe ends with /procfs: %s", YN(n > 7 && strcmp(buf + n - 7, "/procfs") == 0));

    long len = slurp("/proc/self/cmdline");
    long want = 0;
    for (int i = 0; i < argc; i++) want += strlen(argv[i]) + 1;
    int same = len == want;
    for (long at = 0, i = 0; same && i < argc; at += strlen(argv[i]) + 1, i++) same = strcmp(data + at, argv[i]) == 0;
    say("cmdline is argv: %s", YN(same));

    extern char **environ;
    len = slurp("/proc/self/environ");
    long at = 0;
    same = 1;
    for (char **e = environ; *e && same; e++) {
        same = at + (long)strlen(*e) < len && strcmp(data + at, *e) == 0;
        at += strlen(*e) + 1;
    }
    say("environ is the environment: %s", YN(same && at == len));

    slurp("/proc/self/stat");
    int pid = 0, ppid = 0;
    char state = 0;
    char *close_paren = strrchr(data, ')');
    pid = atoi(data);
    if (close_paren) sscanf(close_paren + 2, "%c %d", &state, &ppid);
    say("stat: pid %s, ppid %s, running %s", YN(pid == getpid()), YN(ppid == getppid()), YN(state == 'R'));
    slurp("/proc/self/status");
    snprintf(buf, sizeof buf, "\nPid:\t%d\n", getpid());
    say("status has Pid: %s", YN(strstr(data, buf) != NULL));

    say("meminfo has MemTotal: %s", YN(slurp("/proc/meminfo") > 0 && strncmp(data, "MemTotal:", 9) == 0));
    say("meminfo has MemAvailable: %s", YN(strstr(data, "\nMemAvailable:") != NULL));
    say("cpuinfo has processor 0: %s", YN(slurp("/proc/cpuinfo") > 0 && strncmp(data, "processor\t: 0\n", 14) == 0));
    double up = -1, idle = -1;
    slurp("/proc/uptime");
    say("uptime has two numbers: %s", YN(sscanf(data, "%lf %lf", &up, &idle) == 2 && up >= 0));
    double l1, l5, l15;
    slurp("/proc/loadavg");
    say("loadavg has three loads: %s", YN(sscanf(data, "%lf %lf %lf", &l1, &l5, &l15) == 3));
    say("version: %s", YN(slurp("/proc/version") > 0 && strncmp(data, "Linux version ", 14) == 0));
    struct utsname u;
    uname(&u);
    slurp("/proc/sys/kernel/ostype");
    say("ostype: %s", data);
    slurp("/proc/sys/kernel/osrelease");
    say("osrelease is uname's: %s", YN(strncmp(data, u.release, strlen(u.release)) == 0));
    slurp("/proc/sys/kernel/hostname");
    say("hostname is uname's: %s", YN(strncmp(data, u.nodename, strlen(u.nodename)) == 0));
    slurp("/proc/sys/kernel/pid_max");
    say("pid_max positive: %s", YN(atol(data) > 0));
    const char *fixed[] = {"kernel/cap_last_cap", "kernel/ngroups_max", "kernel/random/entropy_avail",
                          "kernel/random/poolsize", "fs/nr_open", "fs/pipe-max-size"};
    for (unsigned i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/sys/%s", fixed[i]);
        slurp(path);
        say("%s: %s", fixed[i], strtok(data, "\n"));
    }
    char first[64] = {0};
    slurp("/proc/sys/kernel/random/boot_id");
    strncpy(first, data, sizeof first - 1);
    slurp("/proc/sys/kernel/random/boot_id");
    say("boot_id: a UUID %s, the same twice %s", YN(strlen(first) == 37 && first[8] == '-' && first[14] == '4'),
        YN(strcmp(first, data) == 0));
    slurp("/proc/sys/kernel/random/uuid");
    strncpy(first, data, sizeof first - 1);
    slurp("/proc/sys/kernel/random/uuid");
    say("uuid: a UUID %s, new each read %s", YN(strlen(first) == 37 && first[14] == '4' && strchr("89ab", first[19])),
        YN(strcmp(first, data) != 0));
    say("max_map_count positive: %s", YN(slurp("/proc/sys/vm/max_map_count") > 0 && atol(data) > 0));
    say("overcommit_memory 0-2: %s", YN(slurp("/proc/sys/vm/overcommit_memory") > 0 && atol(data) >= 0 && atol(data) <= 2));
    say("file-max positive: %s", YN(slurp("/proc/sys/fs/file-max") > 0 && atol(data) > 0));
    say("filesystems lists proc: %s", YN(slurp("/proc/filesystems") > 0 && strstr(data, "\tproc\n") != NULL));

    struct stat st;
    say("/proc/self: lstat link %s, stat dir %s", YN(lstat("/proc/self", &st) == 0 && S_ISLNK(st.st_mode)),
        YN(stat("/proc/self", &st) == 0 && S_ISDIR(st.st_mode)));
    say("/proc/meminfo regular: %s", YN(stat("/proc/meminfo", &st) == 0 && S_ISREG(st.st_mode)));
    say("/proc/self/fd/1 exists: %s", YN(readlink("/proc/self/fd/1", buf, sizeof buf) > 0));
    REPORT("open /proc/nonexistent", open("/proc/nonexistent", O_RDONLY));

    DIR *d = opendir("/proc");
    char me[16];
    snprintf(me, sizeof me, "%d", getpid());
    int self = 0, mine = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        self |= strcmp(e->d_name, "self") == 0;
        mine |= strcmp(e->d_name, me) == 0 && e->d_type == DT_DIR;
    }
    say("/proc lists self: %s, own pid: %s", YN(self), YN(mine));
    struct statfs sf;
    say("/proc is procfs: %s", YN(statfs("/proc", &sf) == 0 && sf.f_type == 0x9fa0));

    /* maps: the stack holds a local, an executable mapping holds main. */
    slurp("/proc/self/maps");
    unsigned long local = (unsigned long)&sf, code = (unsigned long)&main;
    int stack_ok = 0, code_ok = 0;
    for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
        stack_ok |= lo <= local && local < hi && strstr(line, "[stack]") != NULL;
        code_ok |= lo <= code && code < hi && perms[2] == 'x';
    }
    say("maps: stack has a local %s, main is in an executable mapping %s", YN(stack_ok), YN(code_ok));
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    slurp("/proc/self/limits");
    char *row = strstr(data, "\nMax open files");
    unsigned long soft = 0;
    if (row) sscanf(row + 1, "Max open files %lu", &soft);
    say("limits: header %s, open files is getrlimit's %s", YN(strncmp(data, "Limit ", 6) == 0), YN(soft == rl.rlim_cur));
    snprintf(buf, sizeof buf, "/proc/self/task/%ld/comm", (long)syscall(SYS_gettid));
    say("task/<tid>/comm readable: %s", YN(slurp(buf) > 0));
    slurp("/proc/mounts");
    say("/proc/mounts lists /proc as proc: %s", YN(strstr(data, " /proc proc ") != NULL));
    say("root link: %s", YN(readlink("/proc/self/root", buf, sizeof buf) == 1 && buf[0] == '/'));

    /* Another process's comm, cmdline and stat name, as ps reads them. */
    prctl(PR_SET_NAME, "procfs-parent");
    slurp("/proc/self/comm");
    say("own comm after PR_SET_NAME: %s", data);
    int ready[2];
    pipe(ready);
    pid_t child = fork();
    if (child == 0) {
        char *args[] = {"procfs", "child", "with two args", NULL};
        dup2(ready[1], 3);
        execv("/proc/self/exe", args);
        _exit(127);
    }
    close(ready[1]);
    read(ready[0], buf, 1); /* the child has exec'd and named itself */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", child);
    slurp(path);
    say("child comm: %s", data);
    snprintf(path, sizeof path, "/proc/%d/cmdline", child);
    len = slurp(path);
    for (long i = 0; i < len; i++) if (data[i] == 0) data[i] = '|';
    say("child cmdline: %s", data);
    snprintf(path, sizeof path, "/proc/%d/stat", child);
    slurp(path);
    close_paren = strrchr(data, ')');
    if (close_paren) close_paren[1] = 0;
    say("child stat name: %s", strchr(data, '('));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
