//! The arm (AArch32) compat ABI of aarch64 kernels.
//!
//! A 32-bit process on an aarch64 kernel has `TIF_32BIT` in
//! `task_struct.thread_info.flags` for its whole life (the flag is set at
//! exec), so every syscall it makes is an arm one.

use super::CompatField;

/// The bit number of `TIF_32BIT` (arch/arm64/include/asm/thread_info.h):
/// 22 from Linux 3.7 through at least 7.0 (read in the 6.18 sources). A 2026
/// series moving arm64 to the generic TIF bits renumbers it to 18, and the
/// number is a `#define`, which BTF does not carry, so kernels after the
/// last verified release get no compat detection rather than a guessed bit.
const TIF_32BIT: u32 = 22;

/// The newest kernel (major, minor) whose TIF_32BIT is known to be 22.
const TIF_32BIT_VERIFIED_UNTIL: (u32, u32) = (7, 0);

/// The arm compat flag of an aarch64 kernel of release `kernel`, at the
/// offset `offset_of` finds in the kernel's BTF.
pub(super) fn compat_field(
    kernel: (u32, u32),
    offset_of: impl Fn(&str, &str) -> Option<u64>,
) -> Option<CompatField> {
    if kernel > TIF_32BIT_VERIFIED_UNTIL {
        log::warn!(
            "kernel {}.{}: the arm64 TIF_32BIT bit is unverified after {}.{}; arm (32-bit) syscalls are recorded as aarch64 ones",
            kernel.0,
            kernel.1,
            TIF_32BIT_VERIFIED_UNTIL.0,
            TIF_32BIT_VERIFIED_UNTIL.1
        );
        return None;
    }
    // `flags` is an unsigned long; the kernel side reads its low 32 bits,
    // which hold bit 22 on this little-endian architecture.
    let offset = offset_of("task_struct", "thread_info.flags")?;
    Some(CompatField {
        offset,
        mask: 1 << TIF_32BIT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_on_verified_kernels_only() {
        let btf = |ty: &str, path: &str| {
            (ty == "task_struct" && path == "thread_info.flags").then_some(0)
        };
        assert_eq!(
            compat_field((6, 18), btf),
            Some(CompatField {
                offset: 0,
                mask: 1 << 22
            })
        );
        assert_eq!(compat_field((7, 1), btf), None);
    }
}
