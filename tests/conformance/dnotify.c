/* dnotify (fcntl F_NOTIFY): SIGIO to the process that asked, for the
 * events it asked for on entries of one directory; once unless
 * DN_MULTISHOT; masks added by a second call; cleared by an empty mask
 * and by close; ENOTDIR on a file. */
#include "conf.h"
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

static volatile int hits, code;

static void on_sigio(int sig, siginfo_t *si, void *ctx) {
    (void)sig, (void)ctx;
    hits++;
    code = si->si_code;
}

static void touch(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) close(fd);
}

int main(void) {
    struct sigaction sa = {0};
    sa.sa_sigaction = on_sigio;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGIO, &sa, NULL);
    char dir[] = "/tmp/dnotify-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir)) return 1;
    touch("file");
    int f = open("file", O_RDWR);
    say("on a file: %s", fcntl(f, F_NOTIFY, DN_CREATE) < 0 ? errname(errno) : "ok");

    int d = open(".", O_RDONLY | O_DIRECTORY);
    say("DN_CREATE: %s", fcntl(d, F_NOTIFY, DN_CREATE) < 0 ? errname(errno) : "ok");
    touch("a");
    say("after a create: %d signal(s), si_code is SI_KERNEL %d", hits, code == SI_KERNEL);
    touch("b");
    say("after a second create (one shot): %d", hits);

    hits = 0;
    say("multishot create|delete: %s",
        fcntl(d, F_NOTIFY, DN_CREATE | DN_DELETE | DN_MULTISHOT) < 0 ? errname(errno) : "ok");
    touch("c");
    unlink("c");
    say("create + unlink: %d", hits);
    ssize_t w = write(f, "x", 1);
    say("write, not asked for: %zd %d", w, hits);
    say("add DN_MODIFY: %s", fcntl(d, F_NOTIFY, DN_MODIFY | DN_MULTISHOT) < 0 ? errname(errno) : "ok");
    hits = 0;
    w = write(f, "x", 1);
    say("write: %zd %d", w, hits);
    touch("e");
    say("create still reported (masks add up): %d", hits);
    rename("e", "g");
    say("rename, not asked for: %d", hits);
    chmod("g", 0600);
    say("chmod, not asked for: %d", hits);

    say("empty mask: %s", fcntl(d, F_NOTIFY, 0) < 0 ? errname(errno) : "ok");
    hits = 0;
    touch("h");
    say("after clearing: %d", hits);

    say("DN_RENAME|DN_ATTRIB|DN_MULTISHOT: %s",
        fcntl(d, F_NOTIFY, DN_RENAME | DN_ATTRIB | DN_MULTISHOT) < 0 ? errname(errno) : "ok");
    rename("h", "i");
    say("rename: %d", hits);
    chmod("i", 0600);
    say("chmod: %d", hits > 1);
    int d2 = dup(d);
    close(d2);
    hits = 0;
    chmod("i", 0644);
    say("after closing a duplicate: %d", hits);
    close(d);
    hits = 0;
    chmod("i", 0600);
    say("after close: %d", hits);

    close(f);
    const char *names[] = {"file", "a", "b", "e", "g", "i"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) unlink(names[i]);
    (void)!chdir("/");
    rmdir(dir);
    return 0;
}
