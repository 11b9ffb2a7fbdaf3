/* sendfile and copy_file_range between files in /dev/shm, and sendfile to
 * a pipe; offsets advance as Linux says. */
#include "conf.h"
#include <fcntl.h>
#include <sys/sendfile.h>

int main(void) {
    const char *src = "/dev/shm/moat-conf-copy-src", *dst = "/dev/shm/moat-conf-copy-dst";
    int in = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char data[10000];
    for (int i = 0; i < (int)sizeof data; i++) data[i] = 'a' + i % 26;
    write(in, data, sizeof data);
    int out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);

    off_t off = 100;
    say("sendfile with offset: %ld", (long)sendfile(out, in, &off, 5000));
    long pos = (long)lseek(in, 0, SEEK_CUR);
    say("offset advanced to %ld, file position untouched: %ld", (long)off, pos);
    lseek(in, 0, SEEK_SET);
    long sent = (long)sendfile(out, in, NULL, 20000);
    say("sendfile at the position: %ld, position now %ld", sent, (long)lseek(in, 0, SEEK_CUR));
    char back[8] = {0};
    pread(out, back, 5, 0);
    say("copied bytes start with %s", back);

    loff_t ioff = 0, ooff = 2;
    say("copy_file_range: %ld", (long)copy_file_range(in, &ioff, out, &ooff, 26, 0));
    say("offsets %ld %ld", (long)ioff, (long)ooff);
    REPORT("copy_file_range flags", copy_file_range(in, NULL, out, NULL, 1, 1));
    int p[2];
    pipe(p);
    REPORT("copy_file_range to a pipe", copy_file_range(in, &ioff, p[1], NULL, 1, 0));
    off = 0;
    say("sendfile into a pipe: %ld", (long)sendfile(p[1], in, &off, 7));
    char got[8] = {0};
    read(p[0], got, 7);
    say("pipe got %s", got);
    REPORT("sendfile from a pipe", sendfile(out, p[0], NULL, 1));
    unlink(src);
    unlink(dst);
    return 0;
}
