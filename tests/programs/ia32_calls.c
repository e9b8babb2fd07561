/* A static 32-bit program making calls only the ia32 ABI has: _llseek
 * (lseek64), mmap2 and, through glibc, socketcall. Exit codes tell which
 * step failed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0) return 2;
    if (lseek64(fd, 1, SEEK_SET) != 1) return 3;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 4;
    if (socket(AF_UNIX, SOCK_STREAM, 0) < 0) return 5;
    if (write(1, "ok\n", 3) != 3) return 6;
    return 0;
}
