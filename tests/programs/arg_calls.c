/* The calls whose arguments `recorder record --args` captures, with known
 * values: socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0), socket(AF_INET,
 * SOCK_DGRAM, 0), ioctl(TCGETS) and ioctl(FIONREAD) on a pty it opens,
 * prctl(PR_SET_NAME), personality(0xffffffff), unshare(CLONE_FILES), a
 * fork, a thread (clone3, then clone after ENOSYS under a profile), and
 * mprotect without PROT_EXEC. Run it with stdout to a file: on a terminal
 * libc would make tty ioctls of its own.
 *
 * With an argument it makes one call the recorded profile must deny
 * instead, and prints the errno it failed with (0: it ran):
 * netlink, packet, tiocsti, dumpable, read_implies_exec, unshare_user,
 * clone_user, mprotect_exec. `many_ioctls` makes 70 ioctls with distinct
 * requests nothing answers, more than the recorder keeps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int failed(const char *what) {
    printf("%s failed: errno=%d\n", what, errno);
    return 1;
}

static void *thread(void *arg) {
    return arg;
}

/* One call the profile must deny; its errno, or 0 when it ran. */
static int variant(const char *name) {
    int pty = open("/dev/ptmx", O_RDWR | O_NOCTTY);
    long r = 0;
    errno = 0;
    if (!strcmp(name, "netlink")) {
        r = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
    } else if (!strcmp(name, "packet")) {
        r = socket(AF_PACKET, SOCK_RAW, 0);
    } else if (!strcmp(name, "tiocsti")) {
        char c = 'x';
        r = ioctl(pty, TIOCSTI, &c);
    } else if (!strcmp(name, "dumpable")) {
        r = prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    } else if (!strcmp(name, "read_implies_exec")) {
        /* glibc's personality() returns a failure's errno negated and
         * leaves errno alone. */
        r = syscall(SYS_personality, READ_IMPLIES_EXEC);
    } else if (!strcmp(name, "unshare_user")) {
        r = unshare(CLONE_NEWUSER);
    } else if (!strcmp(name, "clone_user")) {
        r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
        if (r == 0) _exit(0);
        if (r > 0) waitpid(r, NULL, 0);
    } else if (!strcmp(name, "mprotect_exec")) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        r = mprotect(p, 4096, PROT_READ | PROT_EXEC);
    } else if (!strcmp(name, "many_ioctls")) {
        for (unsigned long request = 0x7f00; request < 0x7f00 + 70; request++)
            ioctl(pty, request, 0);
    } else {
        printf("unknown variant %s\n", name);
        return -1;
    }
    return r < 0 ? errno : 0;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        printf("errno=%d\n", variant(argv[1]));
        return 0;
    }
    if (socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0) return failed("socket(AF_UNIX)");
    if (socket(AF_INET, SOCK_DGRAM, 0) < 0) return failed("socket(AF_INET)");
    int pty = open("/dev/ptmx", O_RDWR | O_NOCTTY);
    if (pty < 0) return failed("open /dev/ptmx");
    struct termios t;
    if (ioctl(pty, TCGETS, &t) < 0) return failed("ioctl(TCGETS)");
    int pending = -1;
    if (ioctl(pty, FIONREAD, &pending) < 0) return failed("ioctl(FIONREAD)");
    if (prctl(PR_SET_NAME, "arg-calls", 0, 0, 0) < 0) return failed("prctl(PR_SET_NAME)");
    int persona = personality(0xffffffff);
    if (persona < 0) return failed("personality");
    if (unshare(CLONE_FILES) < 0) return failed("unshare(CLONE_FILES)");
    pid_t child = fork();
    if (child < 0) return failed("fork");
    if (child == 0) _exit(0);
    int status;
    if (waitpid(child, &status, 0) != child) return failed("waitpid");
    pthread_t th;
    int e = pthread_create(&th, NULL, thread, NULL);
    if (e != 0) {
        errno = e;
        return failed("pthread_create");
    }
    pthread_join(th, NULL);
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return failed("mmap");
    if (mprotect(page, 4096, PROT_READ) < 0) return failed("mprotect");
    printf("pending=%d persona=%#x child=%d\n", pending, persona, WEXITSTATUS(status));
    return 0;
}
