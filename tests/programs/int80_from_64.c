/* A 64-bit program that makes one ia32 syscall through `int $0x80`: number
 * 20 (getpid on ia32, writev on x86_64) and number 13 (time on ia32,
 * rt_sigaction on x86_64), with rcx and r11 as the compiler left them. The
 * kernel runs them as ia32 syscalls from a 64-bit code segment: only the
 * task's compat flag tells them from native ones. Exit 0 when getpid
 * answered with a pid. Built static; makes no native getpid or time. */

int main(void) {
    long pid = 20, when = 13;
    __asm__ volatile("int $0x80" : "+a"(pid) : : "memory");
    __asm__ volatile("int $0x80" : "+a"(when) : "b"(0L) : "memory");
    return pid > 0 ? 0 : 1;
}
