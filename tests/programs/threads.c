/* A multi-threaded program: four threads, each doing a little file work,
 * then meeting the main thread at a barrier.
 *
 * The barrier makes the futex calls deterministic: whichever thread arrives
 * last always wakes the others with futex(FUTEX_WAKE). Without it, whether
 * pthread_join sleeps in futex depends on whether the thread has already
 * exited, which differs between a run under strace (slow) and a recorded run,
 * and the two syscall sets would then differ by timing alone. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static pthread_barrier_t all_done;
static void *work(void *arg) {
    char buf[64];
    int fd = open("/proc/self/stat", O_RDONLY);
    if (fd >= 0) {
        read(fd, buf, sizeof buf);
        close(fd);
    }
    pthread_barrier_wait(&all_done);
    return arg;
}
int main(void) {
    pthread_t t[4];
    pthread_barrier_init(&all_done, NULL, 5);
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, NULL);
    pthread_barrier_wait(&all_done);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    puts("threads done");
    return 0;
}
