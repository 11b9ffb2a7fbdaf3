/* O_PATH|O_NOFOLLOW opens a symbolic link itself: fstat says S_IFLNK,
 * readlinkat(fd, "") reads it, fchmodat(AT_SYMLINK_NOFOLLOW) of a link is
 * EOPNOTSUPP (of a file, it works), and without O_PATH, O_NOFOLLOW on a
 * link is ELOOP; fstatat(fd, "", AT_EMPTY_PATH) describes the link. */
#include "conf.h"
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

int main(void) {
    char dir[] = "/tmp/opath-XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0) return 1;
    close(open("file", O_CREAT | O_WRONLY, 0644));
    if (symlink("file", "link") != 0) return 1;
    int fd = open("link", O_PATH | O_NOFOLLOW);
    say("open O_PATH|O_NOFOLLOW of a link: %s", fd >= 0 ? "ok" : errname(errno));
    struct stat st;
    say("fstat: %s", fstat(fd, &st) == 0 ? (S_ISLNK(st.st_mode) ? "S_IFLNK" : "other") : errname(errno));
    say("fstatat AT_EMPTY_PATH: %s",
        fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 ? (S_ISLNK(st.st_mode) ? "S_IFLNK" : "other") : errname(errno));
    char buf[64] = {0};
    ssize_t n = readlinkat(fd, "", buf, sizeof buf);
    say("readlinkat(fd, \"\"): %s", n >= 0 ? buf : errname(errno));
    char b2[8];
    say("read from an O_PATH fd: %s", read(fd, b2, 1) < 0 ? errname(errno) : "ok");
    close(fd);
    fd = open("link", O_RDONLY | O_NOFOLLOW);
    say("open O_RDONLY|O_NOFOLLOW of a link: %s", fd >= 0 ? "ok" : errname(errno));
    say("fchmodat NOFOLLOW of a link: %s", fchmodat(AT_FDCWD, "link", 0600, AT_SYMLINK_NOFOLLOW) == 0 ? "ok" : errname(errno));
    say("fchmodat NOFOLLOW of a file: %s", fchmodat(AT_FDCWD, "file", 0600, AT_SYMLINK_NOFOLLOW) == 0 ? "ok" : errname(errno));
    stat("file", &st);
    say("file mode now %o", st.st_mode & 0777);
    fd = open("file", O_PATH);
    say("fchmod of an O_PATH fd: %s", fchmod(fd, 0644) == 0 ? "ok" : errname(errno));
    unlink("link");
    unlink("file");
    rmdir(dir);
    return 0;
}
