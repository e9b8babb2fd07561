//! What a recording saw, as the kernel side reports it: syscall numbers per
//! ABI row ([`Seen`]) and, with `--args`, the values the captured syscalls
//! passed ([`ArgValues`]). Plain data decoded from `recorder-common`'s
//! shared types; [`super::SyscallSet`] maps it to architectures.

use std::collections::{BTreeMap, BTreeSet};

use recorder_common::{AbiRow, ArgSets, ArgSyscall, FlagBits, SYSCALLS_PER_ABI, Slot, ValueTable};

use crate::arch::Arch;

/// What one recording saw: syscall numbers per ABI row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub native: BTreeSet<u32>,
    pub compat: BTreeSet<u32>,
    /// x32 on x86_64, n32 on mips64.
    pub third: BTreeSet<u32>,
    /// Syscalls whose number was beyond the bitmap (or negative).
    pub out_of_range: u64,
    /// The arguments of the captured syscalls, when the recording
    /// captured them (`--args`).
    pub args: Option<ArgValues>,
}

impl Seen {
    /// Decodes the syscall numbers of a recording's slot.
    pub fn from_slot(slot: &Slot) -> Seen {
        let mut seen = Seen {
            out_of_range: slot.out_of_range,
            ..Seen::default()
        };
        for row in AbiRow::ALL {
            let start = row as usize * SYSCALLS_PER_ABI as usize;
            let numbers = slot.seen[start..start + SYSCALLS_PER_ABI as usize]
                .iter()
                .enumerate()
                .filter(|(_, b)| **b != 0)
                .map(|(nr, _)| nr as u32);
            let set = match row {
                AbiRow::Native => &mut seen.native,
                AbiRow::Compat => &mut seen.compat,
                AbiRow::Third => &mut seen.third,
            };
            set.extend(numbers);
        }
        seen
    }

    /// Adds what `other` saw.
    pub fn extend(&mut self, other: &Seen) {
        self.native.extend(&other.native);
        self.compat.extend(&other.compat);
        self.third.extend(&other.third);
        self.out_of_range += other.out_of_range;
        if let Some(theirs) = &other.args {
            self.args
                .get_or_insert_with(ArgValues::default)
                .extend(theirs);
        }
    }

    /// Number of distinct syscalls over all ABIs.
    pub fn len(&self) -> usize {
        self.native.len() + self.compat.len() + self.third.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The numbers seen in one ABI row.
    pub fn row(&self, row: AbiRow) -> &BTreeSet<u32> {
        match row {
            AbiRow::Native => &self.native,
            AbiRow::Compat => &self.compat,
            AbiRow::Third => &self.third,
        }
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
    fn clone_takes_its_flags_second_on_s390_only() {
        assert_eq!(clone_flags_index(Arch::S390x), 1);
        assert_eq!(clone_flags_index(Arch::S390), 1);
        assert_eq!(clone_flags_index(Arch::X86_64), 0);
        assert_eq!(clone_flags_index(Arch::X86), 0);
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
