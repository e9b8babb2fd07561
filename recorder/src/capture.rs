//! From the kernel's per-ABI syscall numbers to named syscalls per
//! architecture: the step between capture and the profile model.

use std::collections::{BTreeMap, BTreeSet};

use recorder_common::AbiRow;

use crate::arch::Arch;
use crate::bpf::Seen;
use crate::profile::Profile;

/// Syscall numbers a workload made, per architecture (ABI).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyscallSet {
    by_arch: BTreeMap<Arch, BTreeSet<u32>>,
}

/// A number that has no name in the architecture's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnnamedSyscall {
    pub arch: Arch,
    pub number: u32,
}

impl SyscallSet {
    /// Maps the kernel's ABI rows to this host's architectures.
    pub fn from_seen(seen: &Seen) -> SyscallSet {
        let mut set = SyscallSet::default();
        for row in [AbiRow::Native, AbiRow::Compat, AbiRow::X32] {
            let numbers = seen.row(row);
            if numbers.is_empty() {
                continue;
            }
            match Arch::of_host_row(row) {
                Some(arch) => set.by_arch.entry(arch).or_default().extend(numbers),
                None => log::warn!("syscalls seen in ABI row {row:?}, which this host lacks"),
            }
        }
        set
    }

    /// Adds one syscall number.
    pub fn insert(&mut self, arch: Arch, number: u32) {
        self.by_arch.entry(arch).or_default().insert(number);
    }

    /// The architectures with at least one syscall.
    pub fn architectures(&self) -> impl Iterator<Item = Arch> + '_ {
        self.by_arch.keys().copied()
    }

    /// The numbers made on `arch`.
    pub fn numbers(&self, arch: Arch) -> Option<&BTreeSet<u32>> {
        self.by_arch.get(&arch)
    }

    /// Total distinct (arch, number) pairs.
    pub fn len(&self) -> usize {
        self.by_arch.values().map(BTreeSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Names of all syscalls, and the numbers no table names.
    pub fn names(&self) -> (BTreeSet<&'static str>, Vec<UnnamedSyscall>) {
        let mut names = BTreeSet::new();
        let mut unnamed = Vec::new();
        for (&arch, numbers) in &self.by_arch {
            let table = arch.table();
            for &number in numbers {
                match table.name(number) {
                    Some(name) => {
                        names.insert(name);
                    }
                    None => unnamed.push(UnnamedSyscall { arch, number }),
                }
            }
        }
        (names, unnamed)
    }

    /// An allow-list profile of these syscalls. `architectures` always has
    /// the host's native ABI, plus every other ABI the workload used.
    pub fn to_profile(&self, errno: u32) -> (Profile, Vec<UnnamedSyscall>) {
        let (names, unnamed) = self.names();
        let mut arches: BTreeSet<Arch> = self.architectures().collect();
        arches.insert(Arch::host());
        let profile = Profile::allow_list(arches, names.into_iter().map(String::from), errno);
        (profile, unnamed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_rows_to_host_arches() {
        let mut seen = Seen::default();
        seen.native.extend([0, 1, 59]);
        let set = SyscallSet::from_seen(&seen);
        assert_eq!(set.len(), 3);
        let (names, unnamed) = set.names();
        if Arch::host() == Arch::X86_64 {
            assert_eq!(names, BTreeSet::from(["execve", "read", "write"]));
        }
        assert!(unnamed.is_empty());
    }

    #[test]
    fn unknown_numbers_are_reported() {
        let mut set = SyscallSet::default();
        set.insert(Arch::X86_64, 1000);
        let (names, unnamed) = set.names();
        assert!(names.is_empty());
        assert_eq!(
            unnamed,
            [UnnamedSyscall {
                arch: Arch::X86_64,
                number: 1000
            }]
        );
    }
}
