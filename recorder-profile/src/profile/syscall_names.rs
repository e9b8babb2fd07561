//! Which syscall names exist, on which architectures, and the closest
//! spelling of a name that does not.
//!
//! A name counts when the recorder's tables ([`crate::arch`], libseccomp's
//! own tables of every release) know it: runc, crun, containerd and Docker
//! resolve profile names through libseccomp and silently drop the ones it
//! does not know.
//!
//! ```
//! use recorder_profile::arch::Arch;
//! use recorder_profile::profile::syscall_names;
//! assert!(syscall_names::is_known("openat"));
//! assert_eq!(syscall_names::closest("opnat"), Some("openat"));
//! assert!(!syscall_names::applies(Arch::X86_64, "mmap2"));
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use crate::arch::Arch;

/// The names in each architecture's table.
fn table_names() -> &'static HashMap<Arch, HashSet<&'static str>> {
    static TABLES: OnceLock<HashMap<Arch, HashSet<&'static str>>> = OnceLock::new();
    TABLES.get_or_init(|| {
        Arch::ALL
            .into_iter()
            .map(|a| (a, a.table().entries().map(|(_, name)| name).collect()))
            .collect()
    })
}

/// Every name of every architecture, sorted, for suggestions.
fn all_names() -> &'static BTreeSet<&'static str> {
    static ALL: OnceLock<BTreeSet<&'static str>> = OnceLock::new();
    ALL.get_or_init(|| table_names().values().flatten().copied().collect())
}

/// Whether `name` is a syscall on any architecture.
pub fn is_known(name: &str) -> bool {
    all_names().contains(name)
}

/// Whether a rule naming `name` has an effect on `arch`: the syscall exists
/// there.
pub fn applies(arch: Arch, name: &str) -> bool {
    table_names()[&arch].contains(name)
}

/// The name of syscall `number` on `arch` as the kernel reports it (x32
/// numbers with their 0x40000000 bit).
pub fn name_of(arch: Arch, number: u32) -> Option<&'static str> {
    arch.table().name(number)
}

/// The known name closest to `name`, when one is close enough to be a typo.
pub fn closest(name: &str) -> Option<&'static str> {
    crate::arch::suggest::closest(name, all_names().iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names() {
        assert!(is_known("openat"));
        assert!(is_known("mmap2"));
        // ARM-private.
        assert!(is_known("breakpoint"));
        assert!(!is_known("opneat"));
        assert!(!is_known("syscall_1f4"));
    }

    #[test]
    fn names_apply_per_arch() {
        assert!(applies(Arch::X86_64, "openat"));
        assert!(!applies(Arch::X86_64, "mmap2"));
        assert!(applies(Arch::X86, "mmap2"));
        assert!(applies(Arch::X86, "socket"));
        assert!(applies(Arch::Aarch64, "newfstatat"));
        assert!(!applies(Arch::Aarch64, "open"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("opneat"), Some("openat"));
        assert_eq!(closest("exit_grup"), Some("exit_group"));
        assert_eq!(closest("completely_different_thing"), None);
    }

    #[test]
    fn numbers_to_names() {
        assert_eq!(name_of(Arch::X86_64, 0), Some("read"));
        assert_eq!(name_of(Arch::X32, 0x4000_0000), Some("read"));
        assert_eq!(name_of(Arch::Aarch64, 79), Some("newfstatat"));
    }
}
