/* Load for the daemon's scale test: makes argv[2] cgroups c0, c1, ... in the
 * cgroup2 directory argv[1], and starts a child in each (clone3 with
 * CLONE_INTO_CGROUP: no migration, which would take a lock per move) that
 * makes a syscall every second until this process ends
 * (PR_SET_PDEATHSIG). Prints "ready" once every child runs, then waits for
 * standard input to close. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int n = atoi(argv[2]);
    pid_t parent = getpid();
    int ready[2];
    if (pipe(ready) != 0) return 1;
    char path[4096];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/c%d", argv[1], i);
        if (mkdir(path, 0755) != 0) { perror(path); return 1; }
        int cgroup = open(path, O_RDONLY | O_DIRECTORY);
        if (cgroup < 0) { perror(path); return 1; }
        struct clone_args args;
        memset(&args, 0, sizeof args);
        args.flags = CLONE_INTO_CGROUP;
        args.exit_signal = SIGCHLD;
        args.cgroup = (uint64_t)cgroup;
        long pid = syscall(SYS_clone3, &args, sizeof args);
        if (pid < 0) { perror("clone3"); return 1; }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(0);
            close(ready[0]);
            write(ready[1], "r", 1);
            close(ready[1]);
            struct timespec nap = {1, 0};
            struct tms t;
            for (;;) {
                times(&t);
                nanosleep(&nap, NULL);
            }
        }
        close(cgroup);
    }
    close(ready[1]);
    char c;
    for (int started = 0; started < n; started++) {
        if (read(ready[0], &c, 1) != 1) { fprintf(stderr, "a child failed\n"); return 1; }
    }
    puts("ready");
    fflush(stdout);
    while (read(0, &c, 1) > 0) {}
    return 0;
}
