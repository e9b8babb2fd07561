/* One x32 syscall (521, ptrace) from a 64-bit program. Kernels without the
 * x32 ABI answer ENOSYS; the tracepoint sees the number with the x32 bit. */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    long r = syscall(0x40000000 | 521, 0, 0, 0, 0);
    return (r == -1 && errno == ENOSYS) ? 0 : 1;
}
