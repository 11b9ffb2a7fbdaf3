/* inotify and umount: once a tmpfs is unmounted, each watch on a file of
 * it gets IN_UNMOUNT, then IN_IGNORED; a watch elsewhere hears nothing. */
#include "conf.h"
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>

int main(void) {
    /* A private mount namespace, so that nothing of the host changes. */
    if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) return 1;
    char dir[] = "/tmp/inotify-umount-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char other[] = "/tmp/inotify-other-XXXXXX";
    if (!mkdtemp(other)) return 1;
    say("mount: %d", mount("none", dir, "tmpfs", 0, "size=1m"));
    char file[128];
    snprintf(file, sizeof file, "%s/f", dir);
    close(open(file, O_CREAT | O_WRONLY, 0644));
    int in = inotify_init1(IN_NONBLOCK);
    int wd_dir = inotify_add_watch(in, dir, IN_ALL_EVENTS);
    int wd_file = inotify_add_watch(in, file, IN_ATTRIB);
    int wd_other = inotify_add_watch(in, other, IN_ALL_EVENTS);
    say("watches: %d %d %d", wd_dir > 0, wd_file > 0, wd_other > 0);
    say("umount: %d", umount(dir));
    char buf[4096];
    ssize_t n = read(in, buf, sizeof buf);
    for (char *p = buf; n > 0 && p < buf + n;) {
        struct inotify_event *e = (struct inotify_event *)p;
        const char *who = e->wd == wd_dir ? "dir" : e->wd == wd_file ? "file" : e->wd == wd_other ? "other" : "?";
        say("event: %s %s%s%s", who, e->mask & IN_UNMOUNT ? "IN_UNMOUNT" : "",
            e->mask & IN_IGNORED ? "IN_IGNORED" : "", e->mask & ~(IN_UNMOUNT | IN_IGNORED) ? " (other bits)" : "");
        p += sizeof *e + e->len;
    }
    say("rm_watch of a watch gone with the mount: %s", inotify_rm_watch(in, wd_dir) < 0 ? errname(errno) : "ok");
    rmdir(dir);
    rmdir(other);
    return 0;
}
