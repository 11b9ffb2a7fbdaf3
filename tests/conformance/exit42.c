/* The exit code of main reaches the runtime; stdio is flushed at exit.
 * expect-exit: 42 */
#include "conf.h"

int main(void) {
    printf("buffered by stdio, flushed by exit\n");
    return 42;
}
