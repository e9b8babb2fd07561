/* A task that changes cgroup while it runs, for the hot path's memory of
 * the task on each CPU (tests/task_changes.rs, which pins it to one CPU).
 * It makes getppid calls in a loop, so that the CPU remembers it in its
 * first cgroup,
 * and getsid once before the move and umask once after:
 *   migrating self PROCS   writes its own pid to PROCS (cgroup.procs)
 *   migrating wait         prints "ready", then loops until SIGUSR1 (the
 *                          test moves it from another CPU meanwhile)
 * Built static, so that its syscalls depend only on its arguments. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static volatile sig_atomic_t moved;

static void on_usr1(int sig) { (void)sig; moved = 1; }

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "self")) {
        for (int i = 0; i < 100000; i++) syscall(SYS_getppid);
        syscall(SYS_getsid, 0);
        int fd = open(argv[2], O_WRONLY);
        if (fd < 0 || write(fd, "0", 1) != 1) return 2;
        syscall(SYS_umask, 022);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "wait")) {
        signal(SIGUSR1, on_usr1);
        syscall(SYS_getsid, 0);
        write(1, "ready\n", 6);
        while (!moved) syscall(SYS_getppid);
        syscall(SYS_umask, 022);
        return 0;
    }
    return 1;
}
