/* A multi-threaded program: four threads, each doing a little file work. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *work(void *arg) {
    char buf[64];
    int fd = open("/proc/self/stat", O_RDONLY);
    if (fd >= 0) {
        read(fd, buf, sizeof buf);
        close(fd);
    }
    return arg;
}
int main(void) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    puts("threads done");
    return 0;
}
