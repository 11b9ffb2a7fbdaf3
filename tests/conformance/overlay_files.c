/* New files in the root file system: create, write, read, append,
 * truncate, rename, link, symlink, readdir, unlink, rmdir. In moat the
 * root is an overlay (its writes stay in the sandbox), natively the host's
 * directory: the program works only in a scratch directory next to
 * itself, made and removed here. */
#include "conf.h"
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>

static char base[4096];

static const char *at(const char *rel) {
    static char buf[2][4200];
    static int i;
    i ^= 1;
    snprintf(buf[i], sizeof buf[i], "%s/%s", base, rel);
    return buf[i];
}

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list(const char *rel) {
    DIR *d = opendir(at(rel));
    if (!d) {
        say("opendir %s: %s", rel, errname(errno));
        return;
    }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    char line[1024] = "";
    for (int i = 0; i < n; i++) {
        strcat(line, " ");
        strcat(line, names[i]);
        free(names[i]);
    }
    say("ls %s:%s", rel, line);
}

#define R(call) (((call) < 0) ? errname(errno) : "0")

static void cat(const char *rel) {
    char buf[128];
    int fd = open(at(rel), O_RDONLY);
    if (fd < 0) {
        say("cat %s: %s", rel, errname(errno));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    say("cat %s: [%s]", rel, buf);
}

int main(int argc, char **argv) {
    (void)argc;
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(base, sizeof base, "%s/overlay_files.scratch", dirname(self));
    struct stat st;

    say("mkdir: %s", R(mkdir(base, 0755)));
    say("stat base dir: %d", stat(base, &st) == 0 && S_ISDIR(st.st_mode));
    int fd = open(at("f"), O_CREAT | O_EXCL | O_WRONLY, 0640);
    say("create: %d", fd >= 0);
    say("write: %zd", write(fd, "hello", 5));
    close(fd);
    cat("f");
    say("excl again: %s", R(open(at("f"), O_CREAT | O_EXCL | O_WRONLY, 0640)));
    fd = open(at("f"), O_WRONLY | O_APPEND);
    say("append: %zd", write(fd, " world", 6));
    close(fd);
    cat("f");
    int r = stat(at("f"), &st);
    say("stat: %d size=%lld mode=%o", r, (long long)st.st_size, st.st_mode & 07777);
    say("truncate: %s", R(truncate(at("f"), 4)));
    cat("f");
    say("chmod: %s", R(chmod(at("f"), 0600)));
    stat(at("f"), &st);
    say("mode now %o", st.st_mode & 07777);

    say("mkdir d: %s", R(mkdir(at("d"), 0700)));
    say("mkdir d again: %s", R(mkdir(at("d"), 0700)));
    fd = open(at("d/g"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    say("create d/g: %d", fd >= 0);
    close(fd);
    say("rename f d/h: %s", R(rename(at("f"), at("d/h"))));
    say("stat f: %s", R(stat(at("f"), &st)));
    cat("d/h");
    say("link: %s", R(link(at("d/h"), at("hl"))));
    stat(at("hl"), &st);
    say("nlink %d", (int)st.st_nlink);
    say("symlink: %s", R(symlink("d/h", at("sl"))));
    char target[64] = "";
    ssize_t tn = readlink(at("sl"), target, sizeof target - 1);
    target[tn < 0 ? 0 : tn] = 0;
    say("readlink: %zd [%s]", tn, target);
    cat("sl");
    list(".");
    list("d");
    say("rmdir d: %s", R(rmdir(at("d"))));
    say("unlink d: %s", R(unlink(at("d"))));
    say("rename d e: %s", R(rename(at("d"), at("e"))));
    list("e");
    say("unlink e/g: %s", R(unlink(at("e/g"))));
    say("unlink e/h: %s", R(unlink(at("e/h"))));
    say("unlink e/h again: %s", R(unlink(at("e/h"))));
    say("rmdir e: %s", R(rmdir(at("e"))));
    say("unlink sl: %s", R(unlink(at("sl"))));
    cat("hl");
    say("unlink hl: %s", R(unlink(at("hl"))));
    list(".");
    say("rmdir base: %s", R(rmdir(base)));
    say("stat base: %s", R(stat(base, &st)));
    return 0;
}
