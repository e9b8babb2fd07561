/* Makes the raw syscalls its arguments give, each as NR or NR:ARG0:ARG1...
 * (decimal, negative allowed, up to six arguments), and prints one line per
 * call: "NR ok" or "NR errno E". Each line is written at once, so that a
 * call that kills the process leaves the lines before it; exits 0, or 3 when
 * it cannot write. Built static, so that the syscalls around the probes
 * depend only on the arguments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        long a[7] = {0};
        int n = 0;
        for (char *p = argv[i], *end; n < 7; p = end + 1) {
            a[n++] = strtol(p, &end, 10);
            if (*end != ':')
                break;
        }
        errno = 0;
        long r = syscall(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
        char line[64];
        int len = r < 0 ? snprintf(line, sizeof line, "%ld errno %d\n", a[0], errno)
                        : snprintf(line, sizeof line, "%ld ok\n", a[0]);
        if (write(1, line, len) != len)
            return 3;
    }
    return 0;
}
