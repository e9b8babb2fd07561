//! What `--args` needs at load time and gives back: the kernel side's
//! table of captured syscalls (per place of the bitmap, so per ABI), the
//! registers each ABI passes arguments in, and the values a recording's
//! captured syscalls used ([`ArgValues`]).
//!
//! Registers come from the running kernel's BTF (`struct pt_regs`), like
//! every other offset the kernel side reads: aya-ebpf has no CO-RE.

use std::collections::{BTreeMap, BTreeSet};

use recorder_common::{
    AbiRow, ArgSets, ArgSyscall, FlagBits, Numbering, SEEN_LEN, SYSCALL_ARGS, ValueTable,
};

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

/// Which argument of `clone` holds its flags on `arch`: s390 passes the
/// stack first (CLONE_BACKWARDS2), every other architecture the flags.
pub fn clone_flags_index(arch: Arch) -> u32 {
    match arch {
        Arch::S390 | Arch::S390x => 1,
        _ => 0,
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

/// What a captured syscall passed, over every ABI.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArgUse {
    /// The values (tuples for `socket` and `socketpair`) seen.
    Values(BTreeSet<Vec<u64>>),
    /// The flag bits seen, ORed (bit 32 stands for any higher one).
    Flags(u64),
    /// More distinct values than the kernel side's table holds, or
    /// arguments it could not read: no condition can be written.
    Overflowed,
}

impl ArgUse {
    /// What both saw.
    pub fn union(&self, other: &ArgUse) -> ArgUse {
        match (self, other) {
            (ArgUse::Values(a), ArgUse::Values(b)) => ArgUse::Values(a.union(b).cloned().collect()),
            (ArgUse::Flags(a), ArgUse::Flags(b)) => ArgUse::Flags(a | b),
            _ => ArgUse::Overflowed,
        }
    }
}

/// The arguments a recording's captured syscalls used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArgValues {
    pub by_syscall: BTreeMap<ArgSyscall, ArgUse>,
}

impl ArgValues {
    /// Decodes a slot's sets. Every captured syscall is listed, used or
    /// not: whether it was used is the syscall set's to say.
    pub fn from_sets(sets: &ArgSets) -> ArgValues {
        let mut by_syscall = BTreeMap::new();
        for syscall in ArgSyscall::ALL {
            let overflowed = sets
                .overflowed
                .get(syscall as usize)
                .is_some_and(|f| *f != 0);
            let used = if overflowed {
                ArgUse::Overflowed
            } else {
                match syscall {
                    ArgSyscall::Socket => values(&sets.socket),
                    ArgSyscall::Socketpair => values(&sets.socketpair),
                    ArgSyscall::Setns => values(&sets.setns),
                    ArgSyscall::Personality => values(&sets.personality),
                    ArgSyscall::Prctl => values(&sets.prctl),
                    ArgSyscall::Ioctl => values(&sets.ioctl),
                    ArgSyscall::Ptrace => values(&sets.ptrace),
                    ArgSyscall::Bpf => values(&sets.bpf),
                    ArgSyscall::Keyctl => values(&sets.keyctl),
                    ArgSyscall::Clone => flags(&sets.clone),
                    ArgSyscall::Clone3 => flags(&sets.clone3),
                    ArgSyscall::Unshare => flags(&sets.unshare),
                    ArgSyscall::Mprotect => flags(&sets.mprotect),
                    ArgSyscall::PkeyMprotect => flags(&sets.pkey_mprotect),
                }
            };
            by_syscall.insert(syscall, used);
        }
        ArgValues { by_syscall }
    }

    /// Adds what `other` saw.
    pub fn extend(&mut self, other: &ArgValues) {
        for (syscall, used) in &other.by_syscall {
            let merged = match self.by_syscall.get(syscall) {
                Some(mine) => mine.union(used),
                None => used.clone(),
            };
            self.by_syscall.insert(*syscall, merged);
        }
    }

    /// What `syscall` used, if it was captured.
    pub fn get(&self, syscall: ArgSyscall) -> Option<&ArgUse> {
        self.by_syscall.get(&syscall)
    }
}

fn values<const CAP: usize, const W: usize>(table: &ValueTable<CAP, W>) -> ArgUse {
    ArgUse::Values(table.values().map(|w| w.to_vec()).collect())
}

fn flags(bits: &FlagBits) -> ArgUse {
    ArgUse::Flags(bits.word())
}

#[cfg(test)]
mod tests {
    use super::*;
    use recorder_common::{ValueCell, value_tag};

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
    fn clone_takes_its_flags_second_on_s390_only() {
        assert_eq!(clone_flags_index(Arch::S390x), 1);
        assert_eq!(clone_flags_index(Arch::S390), 1);
        assert_eq!(clone_flags_index(Arch::X86_64), 0);
        assert_eq!(clone_flags_index(Arch::X86), 0);
    }

    #[test]
    fn other_hosts_say_what_to_do() {
        assert_eq!(
            registers(Arch::Aarch64).unwrap_err().to_string(),
            "--args is not supported on aarch64 yet (the recorder knows which registers pass syscall arguments on x86_64 only): record without --args"
        );
    }

    fn cell<const W: usize>(words: [u64; W]) -> ValueCell<W> {
        ValueCell {
            words,
            tag: value_tag(&words),
            claims: 1,
        }
    }

    #[test]
    fn decodes_values_flags_and_overflows() {
        let mut sets = ArgSets::EMPTY;
        sets.ioctl.cells[3] = cell([0x5401]);
        sets.ioctl.cells[9] = cell([0x541b]);
        // The same value twice (two CPUs at once), and a cell claimed but
        // not written yet: one value, and nothing.
        sets.ioctl.cells[10] = cell([0x541b]);
        sets.ioctl.cells[11].claims = 1;
        sets.socket.cells[0] = cell([1, 1, 0]);
        sets.clone.low[28] = 1;
        sets.unshare.low[10] = 1;
        sets.overflowed[ArgSyscall::Prctl as usize] = 1;
        let v = ArgValues::from_sets(&sets);
        assert_eq!(
            v.get(ArgSyscall::Ioctl),
            Some(&ArgUse::Values(BTreeSet::from([
                vec![0x5401],
                vec![0x541b]
            ])))
        );
        assert_eq!(
            v.get(ArgSyscall::Socket),
            Some(&ArgUse::Values(BTreeSet::from([vec![1, 1, 0]])))
        );
        assert_eq!(v.get(ArgSyscall::Clone), Some(&ArgUse::Flags(0x1000_0000)));
        assert_eq!(v.get(ArgSyscall::Unshare), Some(&ArgUse::Flags(0x400)));
        assert_eq!(v.get(ArgSyscall::Prctl), Some(&ArgUse::Overflowed));
        assert_eq!(
            v.get(ArgSyscall::Personality),
            Some(&ArgUse::Values(BTreeSet::new()))
        );
    }

    #[test]
    fn unions() {
        let mut a = ArgValues::default();
        a.by_syscall
            .insert(ArgSyscall::Ioctl, ArgUse::Values(BTreeSet::from([vec![1]])));
        a.by_syscall.insert(ArgSyscall::Clone, ArgUse::Flags(0x100));
        let mut b = ArgValues::default();
        b.by_syscall
            .insert(ArgSyscall::Ioctl, ArgUse::Values(BTreeSet::from([vec![2]])));
        b.by_syscall.insert(ArgSyscall::Clone, ArgUse::Flags(0x200));
        b.by_syscall.insert(ArgSyscall::Prctl, ArgUse::Overflowed);
        a.extend(&b);
        assert_eq!(
            a.get(ArgSyscall::Ioctl),
            Some(&ArgUse::Values(BTreeSet::from([vec![1], vec![2]])))
        );
        assert_eq!(a.get(ArgSyscall::Clone), Some(&ArgUse::Flags(0x300)));
        assert_eq!(a.get(ArgSyscall::Prctl), Some(&ArgUse::Overflowed));
        let mut c = a.clone();
        c.extend(&ArgValues {
            by_syscall: BTreeMap::from([(ArgSyscall::Ioctl, ArgUse::Overflowed)]),
        });
        assert_eq!(c.get(ArgSyscall::Ioctl), Some(&ArgUse::Overflowed));
    }
}
