/* devfs: the memory devices' reads and writes, their stat (char device,
 * major:minor, mode 0666), the /dev symlinks into /proc/self/fd, the
 * /dev listing and its file system type. stdin is /dev/null in both runs,
 * so /dev/stdin follows to it. */
#include "conf.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

static void dev(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        say("%s: stat errno=%s", path, errname(errno));
        return;
    }
    say("%s: chr=%s %u:%u mode=%o", path, YN(S_ISCHR(st.st_mode)), major(st.st_rdev), minor(st.st_rdev),
        st.st_mode & 07777);
}

int main(void) {
    char buf[64];
    int fd = open("/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    say("null open for writing: %s", YN(fd >= 0));
    REPORT("null write", write(fd, "hello", 5));
    close(fd);
    fd = open("/dev/null", O_RDWR);
    REPORT("null read", read(fd, buf, sizeof buf));
    REPORT("null lseek", lseek(fd, 100, SEEK_SET));
    struct stat st;
    fstat(fd, &st);
    say("null fstat: chr=%s %u:%u", YN(S_ISCHR(st.st_mode)), major(st.st_rdev), minor(st.st_rdev));
    close(fd);

    fd = open("/dev/zero", O_RDWR);
    memset(buf, 0xaa, sizeof buf);
    REPORT("zero read", read(fd, buf, 16));
    int zeros = 1;
    for (int i = 0; i < 16; i++) zeros &= buf[i] == 0;
    say("zero read zeros: %s, byte 16 untouched: %s", YN(zeros), YN((unsigned char)buf[16] == 0xaa));
    REPORT("zero write", write(fd, "abc", 3));
    close(fd);

    fd = open("/dev/full", O_RDWR);
    REPORT("full write", write(fd, "abc", 3));
    REPORT("full read", read(fd, buf, 8));
    close(fd);

    fd = open("/dev/urandom", O_RDONLY);
    REPORT("urandom read", read(fd, buf, 32));
    close(fd);
    fd = open("/dev/random", O_RDONLY);
    REPORT("random read", read(fd, buf, 8));
    close(fd);

    dev("/dev/null");
    dev("/dev/zero");
    dev("/dev/full");
    dev("/dev/random");
    dev("/dev/urandom");
    dev("/dev/tty");
    dev("/dev/stdin");

    const char *links[] = {"/dev/fd", "/dev/stdin", "/dev/stdout", "/dev/stderr"};
    for (int i = 0; i < 4; i++) {
        ssize_t n = readlink(links[i], buf, sizeof buf - 1);
        buf[n < 0 ? 0 : n] = 0;
        lstat(links[i], &st);
        say("%s -> %s (link: %s)", links[i], buf, YN(S_ISLNK(st.st_mode)));
    }
    say("/dev/shm is a directory: %s", YN(stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode)));
    say("/dev/pts is a directory: %s", YN(stat("/dev/pts", &st) == 0 && S_ISDIR(st.st_mode)));
    REPORT("open /dev/nonexistent", open("/dev/nonexistent", O_RDONLY));
    REPORT("open /dev/null O_DIRECTORY", open("/dev/null", O_RDONLY | O_DIRECTORY));

    DIR *d = opendir("/dev");
    int null = 0, zero = 0, dot = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        null |= strcmp(e->d_name, "null") == 0 && e->d_type == DT_CHR;
        zero |= strcmp(e->d_name, "zero") == 0 && e->d_type == DT_CHR;
        dot |= strcmp(e->d_name, ".") == 0 && e->d_type == DT_DIR;
    }
    say("/dev lists null: %s, zero: %s, dot: %s", YN(null), YN(zero), YN(dot));

    struct statfs sf;
    say("/dev is tmpfs: %s", YN(statfs("/dev", &sf) == 0 && sf.f_type == 0x01021994));
    return 0;
}
