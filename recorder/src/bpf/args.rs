//! What `--args` needs at load time and gives back: the kernel side's
//! table of captured syscalls (per place of the bitmap, so per ABI), the
//! registers each ABI passes arguments in, and the values a recording's
//! captured syscalls used ([`ArgValues`]).
//!
//! Registers come from the running kernel's BTF (`struct pt_regs`), like
//! every other offset the kernel side reads: aya-ebpf has no CO-RE.

use recorder_common::{AbiRow, ArgSyscall, Numbering, SEEN_LEN, SYSCALL_ARGS};

pub use recorder_profile::capture::seen::{ArgUse, ArgValues, clone_flags_index};

use crate::arch::Arch;
use crate::arch::btf::Btf;

/// Why arguments cannot be captured on this host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    #[error(
        "--args is not supported on {0} yet (the recorder knows which registers pass syscall arguments on x86_64 only): record without --args"
    )]
    UnsupportedArch(Arch),
    #[error(
        "--args needs the kernel's BTF (/sys/kernel/btf/vmlinux) to find struct pt_regs.{0}: use a kernel built with CONFIG_DEBUG_INFO_BTF, or record without --args"
    )]
    NoRegister(&'static str),
}

/// The load-time constants of argument capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgGlobals {
    /// `ARG_KIND`: the [`ArgSyscall`] kind at each place of the bitmap.
    pub kinds: Box<[u8; SEEN_LEN]>,
    /// Offsets in `struct pt_regs` of the native ABI's six arguments.
    pub native: [u64; SYSCALL_ARGS],
    /// And of the compat ABI's.
    pub compat: [u64; SYSCALL_ARGS],
    /// The bits of a compat argument.
    pub compat_mask: u64,
    /// Which argument holds clone's flags.
    pub clone_flags_arg: u64,
}

impl ArgGlobals {
    /// The constants for this host, its registers read from `btf`.
    pub fn of_host(btf: Option<&Btf>) -> Result<ArgGlobals, ArgsError> {
        let host = Arch::host();
        let (native_names, compat_names) = registers(host)?;
        let offset = |name: &'static str| {
            btf.and_then(|b| b.member_offset("pt_regs", name))
                .ok_or(ArgsError::NoRegister(name))
        };
        let mut native = [0; SYSCALL_ARGS];
        let mut compat = [0; SYSCALL_ARGS];
        for i in 0..SYSCALL_ARGS {
            native[i] = offset(native_names[i])?;
            compat[i] = offset(compat_names[i])?;
        }
        Ok(ArgGlobals {
            kinds: kind_table(host),
            native,
            compat,
            compat_mask: 0xffff_ffff,
            clone_flags_arg: clone_flags_index(host).into(),
        })
    }
}

/// The `struct pt_regs` members of the native and the compat ABI's
/// arguments (arch/x86/include/asm/syscall.h, `syscall_get_arguments`).
fn registers(host: Arch) -> Result<([&'static str; 6], [&'static str; 6]), ArgsError> {
    match host {
        Arch::X86_64 => Ok((
            ["di", "si", "dx", "r10", "r8", "r9"],
            ["bx", "cx", "dx", "si", "di", "bp"],
        )),
        other => Err(ArgsError::UnsupportedArch(other)),
    }
}

/// `ARG_KIND` for a host: each captured syscall, in each of the host's
/// ABIs, at its place in the bitmap.
pub fn kind_table(host: Arch) -> Box<[u8; SEEN_LEN]> {
    let numbering: Numbering = host.numbering();
    let mut kinds = Box::new([0u8; SEEN_LEN]);
    for row in AbiRow::ALL {
        let Some(arch) = host_row_arch(host, row) else {
            continue;
        };
        let table = arch.table();
        for syscall in ArgSyscall::ALL {
            let Some(nr) = table.number(syscall.name()) else {
                continue;
            };
            if let Some(index) = numbering.seen_index(nr.into(), row == AbiRow::Compat)
                && let Some(kind) = kinds.get_mut(index)
            {
                *kind = syscall as u8;
            }
        }
    }
    kinds
}

fn host_row_arch(host: Arch, row: AbiRow) -> Option<Arch> {
    if host == Arch::host() {
        Arch::of_host_row(row)
    } else {
        match row {
            AbiRow::Native => Some(host),
            AbiRow::Compat => host.compat(),
            AbiRow::Third => (host == Arch::X86_64).then_some(Arch::X32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_table_has_every_abi() {
        let kinds = kind_table(Arch::X86_64);
        let at = |row: AbiRow, nr: usize| kinds[row as usize * 1024 + nr];
        // socket: x86_64 41, ia32 359, x32 41; ioctl: 16, 54, x32 514.
        assert_eq!(at(AbiRow::Native, 41), ArgSyscall::Socket as u8);
        assert_eq!(at(AbiRow::Compat, 359), ArgSyscall::Socket as u8);
        assert_eq!(at(AbiRow::Third, 41), ArgSyscall::Socket as u8);
        assert_eq!(at(AbiRow::Native, 16), ArgSyscall::Ioctl as u8);
        assert_eq!(at(AbiRow::Compat, 54), ArgSyscall::Ioctl as u8);
        assert_eq!(at(AbiRow::Third, 514), ArgSyscall::Ioctl as u8);
        assert_eq!(at(AbiRow::Native, 435), ArgSyscall::Clone3 as u8);
        // getppid is not captured; ia32 socketcall (102) cannot be.
        assert_eq!(at(AbiRow::Native, 110), 0);
        assert_eq!(at(AbiRow::Compat, 102), 0);
        let captured = kinds.iter().filter(|k| **k != 0).count();
        // Each of the 14 in each of the three ABIs.
        assert_eq!(captured, 14 * 3);
    }

    #[test]
    fn other_hosts_say_what_to_do() {
        assert_eq!(
            registers(Arch::Aarch64).unwrap_err().to_string(),
            "--args is not supported on aarch64 yet (the recorder knows which registers pass syscall arguments on x86_64 only): record without --args"
        );
    }
}
