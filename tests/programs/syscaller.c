/* Makes the syscalls named by its arguments (getppid, getpgrp, umask,
 * sched_yield, getsid, getpgid; each with argument 022) and prints whether
 * each worked; the
 * exit status is the last errno. Built static, so that the syscalls of a run
 * depend only on the arguments. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    int last = 0;
    printf("start\n");
    for (int i = 1; i < argc; i++) {
        long nr = -1;
        if (!strcmp(argv[i], "getppid")) nr = SYS_getppid;
        else if (!strcmp(argv[i], "getpgrp")) nr = SYS_getpgrp;
        else if (!strcmp(argv[i], "umask")) nr = SYS_umask;
        else if (!strcmp(argv[i], "sched_yield")) nr = SYS_sched_yield;
        else if (!strcmp(argv[i], "getsid")) nr = SYS_getsid;
        else if (!strcmp(argv[i], "getpgid")) nr = SYS_getpgid;
        long r = nr < 0 ? -1 : syscall(nr, 022);
        last = r < 0 ? errno : 0;
        printf("%s=%s errno=%d\n", argv[i], r < 0 ? "failed" : "ok", last);
    }
    return last;
}
