//! From the kernel's per-ABI syscall numbers to named syscalls per
//! architecture: the step between capture and the profile model.
//!
//! Numbers are kept as the kernel reports them (x32 with its bit, ARM
//! private calls at 0x0f0000 + k), so that each maps through its own
//! architecture's table. Building a profile also chooses its architectures
//! ([`ArchPolicy`]) and checks the names against the libseccomp release the
//! profile is meant for ([`LibseccompVersion`]). With the arguments the
//! kernel side captured (`--args`), [`args`] turns the captured syscalls'
//! values into argument conditions.

pub mod args;
pub mod seen;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use recorder_common::AbiRow;

use self::args::{ArgNote, conditions};
use self::seen::{ArgValues, Seen};
use crate::arch::{Arch, ArchPolicy, LibseccompVersion};
use crate::profile::Profile;

/// Syscall numbers a workload made, per architecture (ABI), and the
/// arguments of the captured ones when they were captured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyscallSet {
    by_arch: BTreeMap<Arch, BTreeSet<u32>>,
    /// What the captured syscalls passed (`--args`); `None`: not captured,
    /// every name unconditional.
    args: Option<ArgValues>,
    /// Names that stay unconditional whatever they passed: those of a
    /// runtime's base profile, which the runtime makes with any values.
    unconditional: BTreeSet<&'static str>,
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
        for row in AbiRow::ALL {
            let numbers = seen.row(row);
            if numbers.is_empty() {
                continue;
            }
            match Arch::of_host_row(row) {
                Some(arch) => set
                    .by_arch
                    .entry(arch)
                    .or_default()
                    .extend(numbers.iter().map(|&nr| Arch::reported_number(row, nr))),
                None => log::warn!("syscalls seen in ABI row {row:?}, which this host lacks"),
            }
        }
        set.args = seen.args.clone();
        set
    }

    /// Adds one syscall number.
    pub fn insert(&mut self, arch: Arch, number: u32) {
        self.by_arch.entry(arch).or_default().insert(number);
    }

    /// Adds one syscall number that stays unconditional, whatever the
    /// arguments captured (a runtime's base profile's).
    pub fn insert_unconditional(&mut self, arch: Arch, number: u32) {
        self.insert(arch, number);
        if let Some(name) = arch.table().name(number) {
            self.unconditional.insert(name);
        }
    }

    /// Adds every syscall of `other`.
    pub fn extend(&mut self, other: &SyscallSet) {
        for (arch, numbers) in &other.by_arch {
            self.by_arch.entry(*arch).or_default().extend(numbers);
        }
        if let Some(theirs) = &other.args {
            self.args
                .get_or_insert_with(ArgValues::default)
                .extend(theirs);
        }
        self.unconditional.extend(&other.unconditional);
    }

    /// Whether the arguments were captured.
    pub fn has_args(&self) -> bool {
        self.args.is_some()
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
        let built = self.build_profile(&ProfileOptions::new(errno));
        (built.profile, built.unnamed)
    }

    /// An allow-list profile of these syscalls, with the architectures
    /// `options.arch_policy` chooses, for the libseccomp release
    /// `options.libseccomp` (names and architectures it lacks are left out).
    pub fn build_profile(&self, options: &ProfileOptions) -> BuiltProfile {
        let host = Arch::host();
        let mut unnamed = Vec::new();
        // Name -> the (arch, release) pairs it was made on.
        let mut uses: BTreeMap<&'static str, Vec<(Arch, LibseccompVersion)>> = BTreeMap::new();
        for (&arch, numbers) in &self.by_arch {
            let table = arch.table();
            for &number in numbers {
                match (table.name(number), table.since(number)) {
                    (Some(name), Some(since)) => uses.entry(name).or_default().push((arch, since)),
                    _ => unnamed.push(UnnamedSyscall { arch, number }),
                }
            }
        }
        let mut arches = options
            .arch_policy
            .architectures(host, self.architectures());
        let mut left_out_arches = Vec::new();
        let mut names = BTreeSet::new();
        let mut newer = Vec::new();
        let mut left_out = Vec::new();
        for (name, made_on) in uses {
            // The release from which every ABI it was made on resolves it.
            let since = made_on
                .iter()
                .map(|&(_, v)| v)
                .max()
                .unwrap_or(LibseccompVersion::OLDEST);
            match options.libseccomp {
                // Kept when the target release resolves it on at least one
                // of those ABIs: that rule still loads and works there.
                Some(target) if made_on.iter().all(|&(_, v)| v > target) => {
                    left_out.push(NewerName { name, since });
                }
                Some(_) => {
                    names.insert(name);
                }
                None => {
                    if since > LibseccompVersion::OLDEST {
                        newer.push(NewerName { name, since });
                    }
                    names.insert(name);
                }
            }
        }
        if let Some(target) = options.libseccomp {
            arches.retain(|arch| {
                let known = arch.libseccomp_since() <= target;
                if !known {
                    left_out_arches.push(*arch);
                }
                known
            });
        }
        let (conditioned, arg_notes, rules) = match &self.args {
            Some(args) => {
                let listed: Vec<Arch> = arches.iter().copied().collect();
                let c = conditions(&names, args, &self.unconditional, &listed, options.errno);
                (c.conditioned, c.notes, c.rules)
            }
            None => Default::default(),
        };
        let mut profile = Profile::allow_list(
            arches,
            names.difference(&conditioned).map(|name| name.to_string()),
            options.errno,
        );
        profile.syscalls.extend(rules);
        BuiltProfile {
            profile,
            unnamed,
            newer_names: newer,
            left_out,
            left_out_arches,
            conditioned,
            arg_notes,
        }
    }
}

/// What a profile is built for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileOptions {
    /// errno for syscalls outside the profile.
    pub errno: u32,
    /// Which architectures the profile lists.
    pub arch_policy: ArchPolicy,
    /// The libseccomp release the profile must load with: names and
    /// architectures it does not know are left out. `None`: keep everything
    /// (and report names older releases lack).
    pub libseccomp: Option<LibseccompVersion>,
}

impl ProfileOptions {
    /// Observed architectures, every name kept.
    pub fn new(errno: u32) -> ProfileOptions {
        ProfileOptions {
            errno,
            arch_policy: ArchPolicy::default(),
            libseccomp: None,
        }
    }
}

/// A profile and what the caller should tell the user about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltProfile {
    pub profile: Profile,
    /// Numbers no table names: not in the profile.
    pub unnamed: Vec<UnnamedSyscall>,
    /// Names in the profile that releases older than `since` do not resolve
    /// (only without a target release).
    pub newer_names: Vec<NewerName>,
    /// Names the target release does not resolve: not in the profile.
    pub left_out: Vec<NewerName>,
    /// Architectures the target release does not know: not in the profile.
    pub left_out_arches: Vec<Arch>,
    /// Names with argument conditions (or, for `clone3`, ENOSYS) instead
    /// of an unconditional allow.
    pub conditioned: BTreeSet<&'static str>,
    /// What to say about the conditions.
    pub arg_notes: Vec<ArgNote>,
}

/// A syscall name and the first libseccomp release that resolves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewerName {
    pub name: &'static str,
    pub since: LibseccompVersion,
}

impl BuiltProfile {
    /// The one-line warning about names older libseccomp releases do not
    /// know, or `None` when every name is known since the oldest release.
    pub fn newer_names_warning(&self) -> Option<String> {
        if self.newer_names.is_empty() {
            return None;
        }
        Some(format!(
            "warning: libseccomp releases before {} do not know some names in this profile and runtimes built with them drop those rules, so the syscalls are denied ({}); Debian 12 ships 2.5.4. Use --libseccomp VERSION to leave them out",
            self.newer_names
                .iter()
                .map(|n| n.since)
                .max()
                .unwrap_or(LibseccompVersion::NEWEST),
            by_release(&self.newer_names)
        ))
    }

    /// The one-line note about what `--libseccomp` left out, or `None`.
    pub fn left_out_note(&self, target: LibseccompVersion) -> Option<String> {
        if self.left_out.is_empty() && self.left_out_arches.is_empty() {
            return None;
        }
        let mut note = format!("libseccomp {target} does not know");
        if !self.left_out.is_empty() {
            let _ = write!(note, " {}", by_release(&self.left_out));
        }
        if !self.left_out_arches.is_empty() {
            let arches: Vec<&str> = self.left_out_arches.iter().map(|a| a.scmp_name()).collect();
            let _ = write!(
                note,
                "{}architectures {}",
                if self.left_out.is_empty() {
                    " "
                } else {
                    "; nor the "
                },
                arches.join(", ")
            );
        }
        note.push_str(": left out of the profile, so those syscalls will be denied");
        Some(note)
    }
}

/// `mseal, statmount (2.5.6+); listns (2.6.1+)`: names grouped by release.
fn by_release(names: &[NewerName]) -> String {
    let mut groups: BTreeMap<LibseccompVersion, Vec<&str>> = BTreeMap::new();
    for n in names {
        groups.entry(n.since).or_default().push(n.name);
    }
    groups
        .iter()
        .map(|(since, names)| format!("{} ({since}+)", names.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
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
    fn x32_row_numbers_get_the_x32_bit() {
        if Arch::host() != Arch::X86_64 {
            return;
        }
        let mut seen = Seen::default();
        seen.native.insert(59);
        seen.third.insert(521);
        seen.compat.insert(140);
        let set = SyscallSet::from_seen(&seen);
        assert_eq!(
            set.numbers(Arch::X32),
            Some(&BTreeSet::from([0x4000_0000 | 521]))
        );
        assert_eq!(set.numbers(Arch::X86), Some(&BTreeSet::from([140])));
        let (names, unnamed) = set.names();
        assert_eq!(names, BTreeSet::from(["_llseek", "execve", "ptrace"]));
        assert!(unnamed.is_empty());
    }

    fn set_of(entries: &[(Arch, &str)]) -> SyscallSet {
        let mut set = SyscallSet::default();
        for &(arch, name) in entries {
            set.insert(arch, arch.table().number(name).unwrap());
        }
        set
    }

    #[test]
    fn arch_policies() {
        let set = set_of(&[(Arch::X86_64, "read")]);
        let observed = set.build_profile(&ProfileOptions::new(38)).profile;
        assert_eq!(observed.architectures, [Arch::host()]);
        let docker = set
            .build_profile(&ProfileOptions {
                arch_policy: ArchPolicy::Docker,
                ..ProfileOptions::new(38)
            })
            .profile;
        let expected: BTreeSet<Arch> = Arch::host().docker_arches().into_iter().collect();
        assert_eq!(
            docker.architectures,
            expected.into_iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn newer_names_are_reported_or_left_out() {
        let set = set_of(&[
            (Arch::X86_64, "read"),
            (Arch::X86_64, "close_range"),
            (Arch::X86_64, "mseal"),
            (Arch::X86_64, "listns"),
        ]);
        let built = set.build_profile(&ProfileOptions::new(38));
        assert_eq!(
            built.profile.allowed_names(),
            BTreeSet::from(["close_range", "listns", "mseal", "read"])
        );
        assert_eq!(
            built.newer_names_warning().unwrap(),
            "warning: libseccomp releases before 2.6.1 do not know some names in this profile and runtimes built with them drop those rules, so the syscalls are denied (close_range (2.5.2+); mseal (2.5.6+); listns (2.6.1+)); Debian 12 ships 2.5.4. Use --libseccomp VERSION to leave them out"
        );
        let target: LibseccompVersion = "2.5.4".parse().unwrap();
        let built = set.build_profile(&ProfileOptions {
            libseccomp: Some(target),
            ..ProfileOptions::new(38)
        });
        assert_eq!(
            built.profile.allowed_names(),
            BTreeSet::from(["close_range", "read"])
        );
        assert!(built.newer_names.is_empty());
        assert_eq!(
            built.left_out_note(target).unwrap(),
            "libseccomp 2.5.4 does not know mseal (2.5.6+); listns (2.6.1+): left out of the profile, so those syscalls will be denied"
        );
        let plain = set_of(&[(Arch::X86_64, "read")]).build_profile(&ProfileOptions::new(38));
        assert_eq!(plain.newer_names_warning(), None);
    }

    #[test]
    fn architectures_a_release_lacks_are_left_out() {
        let set = set_of(&[(Arch::X86_64, "read"), (Arch::M68k, "read")]);
        let target: LibseccompVersion = "2.5".parse().unwrap();
        let built = set.build_profile(&ProfileOptions {
            libseccomp: Some(target),
            ..ProfileOptions::new(38)
        });
        assert_eq!(built.left_out_arches, [Arch::M68k]);
        assert!(!built.profile.architectures.contains(&Arch::M68k));
        // read is still known on x86_64, so it stays.
        assert_eq!(built.profile.allowed_names(), BTreeSet::from(["read"]));
        assert!(
            built
                .left_out_note(target)
                .unwrap()
                .contains("architectures SCMP_ARCH_M68K")
        );
    }

    #[test]
    fn captured_arguments_become_conditions_but_base_names_stay() {
        use crate::capture::seen::ArgUse;
        use recorder_common::ArgSyscall;
        let mut seen = Seen::default();
        // x86_64 read, ioctl, prctl, socket.
        seen.native.extend([0, 16, 157, 41]);
        seen.args = Some(ArgValues {
            by_syscall: [
                (
                    ArgSyscall::Ioctl,
                    ArgUse::Values(BTreeSet::from([vec![0x5401]])),
                ),
                (
                    ArgSyscall::Prctl,
                    ArgUse::Values(BTreeSet::from([vec![15]])),
                ),
                (ArgSyscall::Socket, ArgUse::Overflowed),
            ]
            .into(),
        });
        let mut set = SyscallSet::from_seen(&seen);
        let prctl = Arch::X86_64.table().number("prctl").unwrap();
        set.insert_unconditional(Arch::X86_64, prctl);
        let built = set.build_profile(&ProfileOptions::new(38));
        assert_eq!(
            built.profile.allowed_names(),
            BTreeSet::from(["prctl", "read", "socket"])
        );
        assert_eq!(
            built.profile.conditionally_allowed_names(),
            BTreeSet::from(["ioctl"])
        );
        assert_eq!(built.conditioned, BTreeSet::from(["ioctl"]));
        assert_eq!(built.arg_notes.len(), 1, "socket overflowed");
        // Without arguments, every name is unconditional.
        seen.args = None;
        let plain = SyscallSet::from_seen(&seen).build_profile(&ProfileOptions::new(38));
        assert_eq!(plain.profile.syscalls.len(), 1);
        assert!(plain.arg_notes.is_empty());
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
