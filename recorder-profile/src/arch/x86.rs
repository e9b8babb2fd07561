//! What is particular to the x86 ABIs: the x32 bit in syscall numbers and
//! the ia32 compat flag of x86_64 tasks.
//!
//! An x86_64 kernel runs three syscall ABIs: x86_64, ia32 (32-bit programs,
//! and `int 0x80` from 64-bit ones) and x32 (64-bit registers, 32-bit
//! pointers; numbers with bit 0x40000000). All three report
//! AUDIT_ARCH_X86_64 or AUDIT_ARCH_I386 in logs; the kernel side tells them
//! apart by the compat flag and the x32 bit.

use super::{Arch, CompatField};

/// `__X32_SYSCALL_BIT`: set in the number of every x32 syscall, as the
/// kernel reports it (tracepoints, audit and seccomp records).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// `TS_COMPAT` in `struct thread_info`'s `status` word: the current syscall
/// entered through the ia32 ABI (set on 32-bit entry, cleared on return to
/// user space). 0x0002 from Linux 2.6.x through 7.x
/// (arch/x86/include/asm/thread_info.h); verified on 6.18 by the ia32
/// end-to-end test (tests/abi.rs).
const TS_COMPAT: u64 = 0x0002;

/// x32 or x86_64, by the number an AUDIT_ARCH_X86_64 record carries.
pub(super) fn x86_64_or_x32(syscall_nr: u32) -> Arch {
    if syscall_nr & X32_SYSCALL_BIT != 0 {
        Arch::X32
    } else {
        Arch::X86_64
    }
}

/// The ia32 compat flag of an x86_64 kernel: `task_struct.thread_info.status
/// & TS_COMPAT`, at the offset `offset_of` finds in the kernel's BTF.
pub(super) fn compat_field(offset_of: impl Fn(&str, &str) -> Option<u64>) -> Option<CompatField> {
    let offset = offset_of("task_struct", "thread_info.status")?;
    Some(CompatField {
        offset,
        mask: TS_COMPAT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x32_is_told_by_the_number() {
        assert_eq!(x86_64_or_x32(59), Arch::X86_64);
        assert_eq!(x86_64_or_x32(0x4000_0000 | 59), Arch::X32);
    }

    #[test]
    fn compat_field_uses_the_btf_offset() {
        let field = compat_field(|ty, path| {
            (ty == "task_struct" && path == "thread_info.status").then_some(16)
        });
        assert_eq!(
            field,
            Some(CompatField {
                offset: 16,
                mask: 2
            })
        );
        assert_eq!(compat_field(|_, _| None), None);
    }
}
