/* UTS names and small process settings: in a child that unshares its UTS
 * namespace, sethostname/setdomainname show in uname, gethostname and
 * /proc/sys/kernel/hostname, while the parent keeps its names; too long a
 * name is EINVAL, an unprivileged caller EPERM. personality records and
 * reports, setrlimit sets what getrlimit reads, utime/utimes set file
 * times, sync/syncfs succeed. */
#include "conf.h"
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <utime.h>

static void names(const char *who) {
    struct utsname u;
    uname(&u);
    char host[128] = "", proc[128] = "";
    gethostname(host, sizeof host);
    int fd = open("/proc/sys/kernel/hostname", O_RDONLY);
    ssize_t n = read(fd, proc, sizeof proc - 1);
    close(fd);
    if (n > 0 && proc[n - 1] == '\n') proc[n - 1] = 0;
    say("%s: nodename=%s domainname=%s gethostname=%s proc=%s", who, u.nodename, u.domainname, host, proc);
}

int main(void) {
    struct utsname before;
    uname(&before);
    pid_t c = fork();
    if (c == 0) {
        REPORT("unshare(CLONE_NEWUTS)", unshare(CLONE_NEWUTS));
        REPORT("sethostname", sethostname("moat-conformance", 16));
        REPORT("setdomainname", setdomainname("example.test", 12));
        names("child");
        char longname[80];
        memset(longname, 'x', sizeof longname);
        REPORT("sethostname of 65 bytes", sethostname(longname, 65));
        REPORT("unshare(CLONE_IO)", unshare(0x80000000));
        setresuid(1000, 1000, 1000);
        REPORT("sethostname unprivileged", sethostname("nope", 4));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    struct utsname after;
    uname(&after);
    say("parent's names unchanged: %s", YN(strcmp(before.nodename, after.nodename) == 0 &&
                                            strcmp(before.domainname, after.domainname) == 0));

    int old = personality(0xffffffff);
    say("personality query: %#x", old);
    say("set ADDR_NO_RANDOMIZE returns the old: %s", YN(personality(ADDR_NO_RANDOMIZE) == old));
    say("query after: %#x", personality(0xffffffff));
    c = fork();
    if (c == 0) _exit(personality(0xffffffff) == ADDR_NO_RANDOMIZE ? 0 : 1);
    int st;
    waitpid(c, &st, 0);
    say("child inherits it: %s", YN(WIFEXITED(st) && WEXITSTATUS(st) == 0));
    personality(old);

    struct rlimit rl = {.rlim_cur = 100, .rlim_max = 200};
    REPORT("setrlimit NOFILE 100/200", setrlimit(RLIMIT_NOFILE, &rl));
    getrlimit(RLIMIT_NOFILE, &rl);
    say("getrlimit: %lu/%lu", (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);
    rl.rlim_cur = 400;
    REPORT("soft above hard", setrlimit(RLIMIT_NOFILE, &rl));

    const char *path = "/tmp/conformance-uts";
    close(open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644));
    struct utimbuf ub = {.actime = 1000000000, .modtime = 1200000000};
    REPORT("utime", utime(path, &ub));
    struct stat s;
    stat(path, &s);
    say("times: atime=%ld mtime=%ld", (long)s.st_atime, (long)s.st_mtime);
    struct timeval tv[2] = {{.tv_sec = 1300000000, .tv_usec = 250000}, {.tv_sec = 1400000000, .tv_usec = 500000}};
    REPORT("utimes", utimes(path, tv));
    stat(path, &s);
    say("times: atime=%ld.%09ld mtime=%ld.%09ld", (long)s.st_atime, s.st_atim.tv_nsec, (long)s.st_mtime,
        s.st_mtim.tv_nsec);
    tv[0].tv_usec = 1000000;
    REPORT("utimes with usec 1000000", utimes(path, tv));
    REPORT("utime of a missing file", utime("/tmp/conformance-uts-missing", NULL));
    sync();
    int fd = open(path, O_RDONLY);
    REPORT("syncfs", syncfs(fd));
    REPORT("syncfs(-1)", syncfs(-1));
    close(fd);
    unlink(path);
    return 0;
}
