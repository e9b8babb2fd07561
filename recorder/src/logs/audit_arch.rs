//! AUDIT_ARCH values (and `ausearch -i` machine names) to libseccomp
//! architectures.
//!
//! Issue #3 moves this mapping into [`crate::arch`] as
//! `Arch::from_audit_arch`; this module keeps the same signature so that the
//! swap is a one-line change.

use crate::arch::Arch;

/// Bit that marks x32 syscall numbers on AUDIT_ARCH_X86_64.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// The libseccomp architecture of a record's `arch=` and `syscall=` values:
/// x32 shares AUDIT_ARCH_X86_64 and is told apart by bit 0x40000000 of the
/// syscall number.
pub fn from_audit_arch(audit_arch: u32, syscall_nr: u32) -> Option<Arch> {
    Some(match audit_arch {
        AUDIT_ARCH_X86_64 if syscall_nr & X32_SYSCALL_BIT != 0 => Arch::X32,
        AUDIT_ARCH_X86_64 => Arch::X86_64,
        0x4000_0003 => Arch::X86,
        0x4000_0028 => Arch::Arm,
        0xc000_00b7 => Arch::Aarch64,
        0xc000_0102 => Arch::Loongarch64,
        0x0000_0004 => Arch::M68k,
        0x0000_0008 => Arch::Mips,
        0x4000_0008 => Arch::Mipsel,
        0x8000_0008 => Arch::Mips64,
        0xc000_0008 => Arch::Mipsel64,
        0xa000_0008 => Arch::Mips64n32,
        0xe000_0008 => Arch::Mipsel64n32,
        0x0000_000f => Arch::Parisc,
        0x8000_000f => Arch::Parisc64,
        0x0000_0014 => Arch::Ppc,
        0x8000_0015 => Arch::Ppc64,
        0xc000_0015 => Arch::Ppc64le,
        0xc000_00f3 => Arch::Riscv64,
        0x0000_0016 => Arch::S390,
        0x8000_0016 => Arch::S390x,
        0x4000_002a => Arch::Sh,
        0x0000_002a => Arch::Sheb,
        _ => return None,
    })
}

/// The syscall number as the architecture's table lists it: x32 numbers
/// without their marker bit, like the eBPF capture stores them.
pub fn table_number(arch: Arch, syscall_nr: u32) -> u32 {
    if arch == Arch::X32 {
        syscall_nr & !X32_SYSCALL_BIT
    } else {
        syscall_nr
    }
}

/// The architecture of an `ausearch -i` machine name (libaudit's names).
pub fn from_machine_name(name: &[u8]) -> Option<Arch> {
    let name = std::str::from_utf8(name).ok()?;
    match name {
        "i386" | "i486" | "i586" | "i686" => Some(Arch::X86),
        "armeb" | "armv5tejl" | "armv7l" | "armv7hl" => Some(Arch::Arm),
        "ppc64le" => Some(Arch::Ppc64le),
        other => other.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_family() {
        assert_eq!(from_audit_arch(0xc000003e, 1), Some(Arch::X86_64));
        assert_eq!(from_audit_arch(0x40000003, 20), Some(Arch::X86));
        assert_eq!(
            from_audit_arch(0xc000003e, 0x4000_0000 | 39),
            Some(Arch::X32)
        );
        assert_eq!(table_number(Arch::X32, 0x4000_0000 | 39), 39);
        assert_eq!(table_number(Arch::X86_64, 39), 39);
    }

    #[test]
    fn every_arch_has_one_audit_value() {
        let values = [
            0xc000003e, 0x40000003, 0x40000028, 0xc00000b7, 0xc0000102, 0x4, 0x8, 0x40000008,
            0x80000008, 0xc0000008, 0xa0000008, 0xe0000008, 0xf, 0x8000000f, 0x14, 0x80000015,
            0xc0000015, 0xc00000f3, 0x16, 0x80000016, 0x4000002a, 0x2a,
        ];
        let mut arches: Vec<Arch> = values
            .iter()
            .map(|&v| from_audit_arch(v, 0).unwrap())
            .collect();
        arches.push(from_audit_arch(0xc000003e, 0x4000_0000).unwrap());
        arches.sort();
        arches.dedup();
        assert_eq!(arches.len(), Arch::ALL.len());
        assert_eq!(from_audit_arch(0x12345678, 0), None);
    }

    #[test]
    fn machine_names() {
        assert_eq!(from_machine_name(b"x86_64"), Some(Arch::X86_64));
        assert_eq!(from_machine_name(b"i386"), Some(Arch::X86));
        assert_eq!(from_machine_name(b"aarch64"), Some(Arch::Aarch64));
        assert_eq!(from_machine_name(b"vax"), None);
    }
}
