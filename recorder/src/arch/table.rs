//! Number <-> name tables per architecture, with libseccomp's spelling.
//!
//! Backed by the `syscalls` crate (Linux 6.18 tables). Only the x86 family is
//! wired up so far; issue #3 widens this to every libseccomp architecture and
//! corrects the crate where it disagrees with libseccomp.

use super::Arch;

/// The syscall table of one architecture.
#[derive(Clone, Copy, Debug)]
pub struct SyscallTable {
    arch: Arch,
}

impl SyscallTable {
    pub fn of(arch: Arch) -> Self {
        SyscallTable { arch }
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The libseccomp name of syscall `nr` as the kernel reports it for this
    /// architecture, or `None` when the table has no such number.
    pub fn name(&self, nr: u32) -> Option<&'static str> {
        match self.arch {
            Arch::X86_64 => syscalls::x86_64::Sysno::new(nr as usize).map(|s| s.name()),
            Arch::X86 => syscalls::x86::Sysno::new(nr as usize).map(|s| s.name()),
            _ => None,
        }
    }

    /// The number of syscall `name` on this architecture.
    pub fn number(&self, name: &str) -> Option<u32> {
        self.entries().find(|(_, n)| *n == name).map(|(nr, _)| nr)
    }

    /// Every (number, name) pair, sorted by number.
    pub fn entries(&self) -> impl Iterator<Item = (u32, &'static str)> + '_ {
        (0..1024u32).filter_map(|nr| self.name(nr).map(|name| (nr, name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_basics() {
        let t = Arch::X86_64.table();
        assert_eq!(t.name(0), Some("read"));
        assert_eq!(t.name(59), Some("execve"));
        assert_eq!(t.number("getcpu"), Some(309));
    }

    #[test]
    fn x86_ia32_basics() {
        let t = Arch::X86.table();
        assert_eq!(t.name(5), Some("open"));
        assert_eq!(t.name(192), Some("mmap2"));
    }
}
