//! What is particular to the MIPS ABIs: each numbers its syscalls from a
//! base of its own (`__NR_Linux`), and the kernel reports the numbers with
//! that base, so the number alone tells the ABI. A mips64 kernel runs n64,
//! o32 and n32 programs side by side; a 32-bit mips kernel runs o32 only.

use recorder_common::{ABI_ROWS, AbiRow};

use super::Arch;

/// `__NR_O32_Linux`: o32 (32-bit) syscalls are 4000 + n.
pub const O32_BASE: u32 = 4000;
/// `__NR_64_Linux`: n64 syscalls are 5000 + n.
pub const N64_BASE: u32 = 5000;
/// `__NR_N32_Linux`: n32 (64-bit registers, 32-bit pointers) are 6000 + n.
pub const N32_BASE: u32 = 6000;

/// The base of the ABI in each of the kernel side's rows (native, compat,
/// third) on a MIPS host; `None` on other hosts.
pub(super) fn row_bases(host: Arch) -> Option<[u32; ABI_ROWS]> {
    match host {
        Arch::Mips | Arch::Mipsel => Some([O32_BASE, 0, 0]),
        Arch::Mips64 | Arch::Mipsel64 => Some([N64_BASE, O32_BASE, N32_BASE]),
        _ => None,
    }
}

/// The ABI in the compat (o32) or third (n32) row of a mips64 host.
pub(super) fn row_arch(host: Arch, row: AbiRow) -> Option<Arch> {
    match (host, row) {
        (Arch::Mips64, AbiRow::Compat) => Some(Arch::Mips),
        (Arch::Mipsel64, AbiRow::Compat) => Some(Arch::Mipsel),
        (Arch::Mips64, AbiRow::Third) => Some(Arch::Mips64n32),
        (Arch::Mipsel64, AbiRow::Third) => Some(Arch::Mipsel64n32),
        _ => None,
    }
}
