//! Which architectures a profile lists.
//!
//! A profile's `architectures` decides which syscall entry points stay open:
//! an ABI not listed is killed by the runtime's filter outright. Listing only
//! the ABIs a workload used keeps the 32-bit and x32 entry points (a classic
//! source of filter bypasses) closed unless needed.

use std::collections::BTreeSet;

use super::Arch;
use crate::choice::{Choice, by_name};

/// How to choose a profile's `architectures`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ArchPolicy {
    /// The host's native ABI plus every ABI the workload used.
    #[default]
    Observed,
    /// Docker's default for the host (x86_64: X86_64, X86, X32; aarch64:
    /// AARCH64, ARM; s390x: S390X, S390; ...), plus any ABI used.
    Docker,
}

impl Choice for ArchPolicy {
    const ALL: &'static [ArchPolicy] = &[ArchPolicy::Observed, ArchPolicy::Docker];

    fn name(self) -> &'static str {
        match self {
            ArchPolicy::Observed => "observed",
            ArchPolicy::Docker => "docker",
        }
    }

    fn help(self) -> &'static str {
        match self {
            ArchPolicy::Observed => "The host's native ABI plus every ABI the workload used",
            ArchPolicy::Docker => {
                "Docker's default for the host (x86_64: X86_64, X86, X32; aarch64: AARCH64, ARM; s390x: S390X, S390; ...), plus any ABI used"
            }
        }
    }
}

by_name!(ArchPolicy);

impl ArchPolicy {
    /// The architectures for a profile on `host` of a workload that used
    /// `used`.
    pub fn architectures(self, host: Arch, used: impl IntoIterator<Item = Arch>) -> BTreeSet<Arch> {
        let mut arches: BTreeSet<Arch> = used.into_iter().collect();
        match self {
            ArchPolicy::Observed => {
                arches.insert(host);
            }
            ArchPolicy::Docker => arches.extend(host.docker_arches()),
        }
        arches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_lists_native_and_used() {
        let arches = ArchPolicy::Observed.architectures(Arch::X86_64, []);
        assert_eq!(arches, BTreeSet::from([Arch::X86_64]));
        let arches = ArchPolicy::Observed.architectures(Arch::X86_64, [Arch::X86]);
        assert_eq!(arches, BTreeSet::from([Arch::X86_64, Arch::X86]));
    }

    #[test]
    fn docker_lists_the_hosts_arch_map() {
        let x86 = ArchPolicy::Docker.architectures(Arch::X86_64, []);
        assert_eq!(x86, BTreeSet::from([Arch::X86_64, Arch::X86, Arch::X32]));
        let arm = ArchPolicy::Docker.architectures(Arch::Aarch64, []);
        assert_eq!(arm, BTreeSet::from([Arch::Aarch64, Arch::Arm]));
        let s390 = ArchPolicy::Docker.architectures(Arch::S390x, []);
        assert_eq!(s390, BTreeSet::from([Arch::S390x, Arch::S390]));
        for native_only in [Arch::Riscv64, Arch::Ppc64le, Arch::Loongarch64] {
            let arches = ArchPolicy::Docker.architectures(native_only, []);
            assert_eq!(arches, BTreeSet::from([native_only]));
        }
    }

    /// The map agrees with Docker's default profile (moby/profiles
    /// seccomp/default.json, kept in tests/data/reference).
    #[test]
    fn docker_map_matches_dockers_default_profile() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data/reference/docker-default-seccomp.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        for entry in json["archMap"].as_array().unwrap() {
            let main: Arch = entry["architecture"].as_str().unwrap().parse().unwrap();
            let mut expected = BTreeSet::from([main]);
            for sub in entry["subArchitectures"].as_array().into_iter().flatten() {
                expected.insert(sub.as_str().unwrap().parse().unwrap());
            }
            let ours: BTreeSet<Arch> = main.docker_arches().into_iter().collect();
            assert_eq!(ours, expected, "{main}");
        }
    }
}
