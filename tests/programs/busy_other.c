/* Runs in another cgroup while a recording is on, making rare syscalls that
 * the recorded workload never makes, until killed. */
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <unistd.h>
int main(void) {
    struct itimerval it;
    struct tms t;
    for (;;) {
        getitimer(ITIMER_REAL, &it);
        times(&t);
        syscall(SYS_sched_getscheduler, 0);
        getpgid(0);
        syscall(SYS_getresgid, 0, 0, 0);
    }
}
