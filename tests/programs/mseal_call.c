/* One mseal call (x86_64 462), a name libseccomp knows since 2.5.6. */
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    syscall(462, 0, 0, 0); /* mseal (x86_64 462) */
    return 0;
}
