/* Makes a known set of rare syscalls (three times each); with "extra" also
 * sysinfo(2), exiting with its errno, to show what a profile denies. Output
 * is avoided on purpose: printf would add fstat and write to the set. */
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
int main(int argc, char **argv) {
    static char page[4096];
    unsigned cpu, node;
    cpu_set_t set;
    for (int i = 0; i < 3; i++) {
        syscall(SYS_getcpu, &cpu, &node, NULL);
        personality(0xffffffff);
        mlock(page, sizeof page);
        munlock(page, sizeof page);
        sched_getaffinity(0, sizeof set, &set);
        getpriority(PRIO_PROCESS, 0);
    }
    if (argc > 1 && strcmp(argv[1], "extra") == 0) {
        struct sysinfo info;
        int r = sysinfo(&info);
        return r ? errno : 0;
    }
    return 0;
}
