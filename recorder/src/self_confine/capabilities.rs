//! Linux capabilities: which ones a command keeps, and lowering the calling
//! thread to them.
//!
//! Capabilities belong to threads, not processes: `capset(2)` changes the
//! calling thread only, and a thread inherits its creator's at `clone`.
//! [`lower`] therefore runs while the process has one thread, and every
//! thread started after it starts lowered (see [`super`]).

use std::fmt;
use std::io;

use crate::sys::caps;

/// One capability, by its number in `linux/capability.h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Capability(pub u32);

impl Capability {
    pub const DAC_OVERRIDE: Capability = Capability(1);
    pub const DAC_READ_SEARCH: Capability = Capability(2);
    pub const FOWNER: Capability = Capability(3);
    pub const KILL: Capability = Capability(5);
    pub const SETPCAP: Capability = Capability(8);
    pub const SYS_PTRACE: Capability = Capability(19);
    pub const SYS_ADMIN: Capability = Capability(21);
    pub const PERFMON: Capability = Capability(38);
    pub const BPF: Capability = Capability(39);

    /// `CAP_SYS_PTRACE`, as the README and `/proc/PID/status` tools name it.
    pub fn name(self) -> String {
        let known = match self.0 {
            0 => "CHOWN",
            1 => "DAC_OVERRIDE",
            2 => "DAC_READ_SEARCH",
            3 => "FOWNER",
            4 => "FSETID",
            5 => "KILL",
            6 => "SETGID",
            7 => "SETUID",
            8 => "SETPCAP",
            12 => "NET_ADMIN",
            19 => "SYS_PTRACE",
            21 => "SYS_ADMIN",
            24 => "SYS_RESOURCE",
            37 => "AUDIT_READ",
            38 => "PERFMON",
            39 => "BPF",
            _ => return format!("CAP_{}", self.0),
        };
        format!("CAP_{known}")
    }

    fn bit(self) -> u64 {
        1u64 << self.0
    }
}

/// A set of capabilities, as the 64-bit masks of `/proc/PID/status` show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapabilitySet(pub u64);

impl CapabilitySet {
    pub fn of(caps: &[Capability]) -> CapabilitySet {
        CapabilitySet(caps.iter().fold(0, |mask, c| mask | c.bit()))
    }

    pub fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }

    pub fn insert(&mut self, cap: Capability) {
        self.0 |= cap.bit();
    }

    pub fn intersection(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 & other.0)
    }

    pub fn iter(self) -> impl Iterator<Item = Capability> {
        (0..64).map(Capability).filter(move |c| self.contains(*c))
    }
}

impl fmt::Display for CapabilitySet {
    /// `CAP_KILL, CAP_SYS_PTRACE`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        let names: Vec<String> = self.iter().map(Capability::name).collect();
        f.write_str(&names.join(", "))
    }
}

/// The calling thread's permitted set.
pub fn permitted() -> io::Result<CapabilitySet> {
    caps::permitted().map(CapabilitySet)
}

/// The highest capability this kernel knows.
fn last_capability() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(40)
}

/// Lowers the calling thread to `keep` (as far as it holds them): the
/// bounding set loses the others where CAP_SETPCAP allows (so that no later
/// exec could regain them), the ambient set is cleared, and the effective
/// and permitted sets become `keep`, the inheritable one empty. Returns the
/// set kept.
pub fn lower(keep: CapabilitySet) -> io::Result<CapabilitySet> {
    let held = permitted()?;
    if held.contains(Capability::SETPCAP) {
        for cap in 0..=last_capability() {
            if !keep.contains(Capability(cap)) {
                // EINVAL for a capability this kernel lacks is harmless.
                let _ = caps::drop_bounding(cap);
            }
        }
    }
    // EINVAL on kernels before 4.3 (no ambient set).
    let _ = caps::clear_ambient();
    let kept = keep.intersection(held);
    caps::set_effective_and_permitted(kept.0)?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_named_as_the_readme_names_them() {
        let set = CapabilitySet::of(&[Capability::SYS_PTRACE, Capability::DAC_READ_SEARCH]);
        assert_eq!(set.0, 0x8_0004);
        assert_eq!(set.to_string(), "CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE");
        assert_eq!(CapabilitySet::default().to_string(), "none");
        assert_eq!(Capability(63).name(), "CAP_63");
    }

    use crate::sys::process::{self, ForkSafe};

    /// The child's side of the test below: lower, then check.
    struct Lowering {
        keep: CapabilitySet,
        held: CapabilitySet,
    }

    // SAFETY: not strictly async-signal-safe: `lower` reads cap_last_cap
    // through std, which allocates. Tolerated in this test only: a child
    // stuck on a lock another thread held at the fork hangs the test, it
    // cannot make it pass.
    unsafe impl ForkSafe for Lowering {
        fn run(&self) -> io::Result<()> {
            let kept = self.keep.intersection(self.held);
            if lower(self.keep).is_ok() && permitted().is_ok_and(|p| p == kept) {
                Ok(())
            } else {
                Err(io::Error::from_raw_os_error(libc::EPERM))
            }
        }
    }

    /// Lowering in a child (a fork, so this test process keeps its own)
    /// leaves exactly the kept capabilities that were held.
    #[test]
    fn lowers_the_calling_thread() {
        let held = permitted().unwrap();
        let keep = CapabilitySet::of(&[Capability::KILL, Capability(62)]);
        let pid = process::fork_child(&Lowering { keep, held }).unwrap();
        let status = process::waitpid(pid, false).unwrap().unwrap();
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}
