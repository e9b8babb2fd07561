/* Runs in other cgroups while a recording is on: argv[1] threads (default
 * 1), each making, until killed, rare syscalls that the recorded workloads
 * never make. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <unistd.h>
static void *busy(void *arg) {
    struct itimerval it;
    struct tms t;
    for (;;) {
        getitimer(ITIMER_REAL, &it);
        times(&t);
        syscall(SYS_sched_getscheduler, 0);
        getpgid(0);
        syscall(SYS_getresgid, 0, 0, 0);
    }
    return arg;
}
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1;
    pthread_t t;
    for (int i = 1; i < n; i++) pthread_create(&t, NULL, busy, NULL);
    busy(NULL);
    return 0;
}
