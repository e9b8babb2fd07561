//! What a profile would have denied, from the seccomp records of a run in
//! complain mode, and the profile with those syscalls added.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::audit::SeccompRecord;
use crate::arch::Arch;
use crate::profile::effective::Effective;
use crate::profile::values::describe_treatment;
use crate::profile::{Action, Profile, SyscallRule, syscall_names};

/// Why the profile would have stopped a syscall.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The profile's rules or default deny it.
    Denied(String),
    /// Only calls with some arguments would have run.
    DependsOnArguments(String),
    /// The profile does not list the architecture: the thread is killed.
    ArchitectureNotListed,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Denied(t) => f.write_str(t),
            Reason::DependsOnArguments(t) => write!(
                f,
                "{t}; denied for the arguments it passed (audit records carry none, so which ones is not known: `recorder record --args` of the same run shows them)"
            ),
            Reason::ArchitectureNotListed => f.write_str("architecture not listed: thread killed"),
        }
    }
}

/// The syscalls a profile would have stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Complaint {
    /// (architecture, syscall name) and why.
    pub denied: BTreeMap<(Arch, String), Reason>,
    /// Records whose architecture or number no table knows.
    pub unknown: BTreeSet<(u32, u32)>,
}

impl Complaint {
    /// Judges `records` (of the workload only) against the original profile
    /// on a host of `native` architecture.
    pub fn from_records(
        profile: &Profile,
        records: impl IntoIterator<Item = SeccompRecord>,
        native: Arch,
    ) -> Complaint {
        let effective = Effective::of(profile);
        let covered = effective.covered_arches(native);
        let mut complaint = Complaint::default();
        for record in records {
            let Some((arch, name)) = record.arch().and_then(|a| {
                syscall_names::name_of(a, record.syscall).map(|n| (a, n.to_string()))
            }) else {
                complaint
                    .unknown
                    .insert((record.audit_arch, record.syscall));
                continue;
            };
            let reason = if !covered.contains(&arch) {
                Reason::ArchitectureNotListed
            } else {
                let treatment = effective.treatment(&name);
                if treatment.always_runs(effective.default) {
                    // Logged by one of the profile's own SCMP_ACT_LOG rules.
                    continue;
                }
                let mut text = describe_treatment(&name, &treatment, effective.default);
                if !effective.rules.contains_key(&name) {
                    text.push_str(" (default)");
                }
                if treatment.sometimes_runs(effective.default) {
                    Reason::DependsOnArguments(text)
                } else {
                    Reason::Denied(text)
                }
            };
            complaint.denied.insert((arch, name), reason);
        }
        complaint
    }

    /// `profile` plus what it would have denied: missing architectures are
    /// listed and syscalls that only the default denied are allowed. Syscalls
    /// that a rule of the profile denies or restricts are left as they are
    /// and returned, since widening a deliberate rule is the author's call.
    pub fn fix(&self, profile: &Profile) -> (Profile, Vec<String>) {
        let effective = Effective::of(profile);
        let mut fixed = profile.clone();
        let mut kept = Vec::new();
        let mut add = BTreeSet::new();
        for ((arch, name), reason) in &self.denied {
            if *reason == Reason::ArchitectureNotListed && !fixed.architectures.contains(arch) {
                fixed.architectures.push(*arch);
            }
            if effective.rules.contains_key(name) {
                kept.push(name.clone());
            } else {
                add.insert(name.clone());
            }
        }
        kept.dedup();
        if !add.is_empty() {
            let allow = fixed
                .syscalls
                .iter_mut()
                .find(|r| r.action == Action::Allow && r.args.is_empty());
            match allow {
                Some(rule) => {
                    let names: BTreeSet<String> = rule.names.drain(..).chain(add).collect();
                    rule.names = names.into_iter().collect();
                }
                None => fixed
                    .syscalls
                    .insert(0, SyscallRule::new(add, Action::Allow)),
            }
        }
        (fixed, kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(nr: u32) -> SeccompRecord {
        SeccompRecord {
            pid: 1,
            audit_arch: 0xc000_003e,
            syscall: nr,
            code: 0x7ffc_0000,
        }
    }

    #[test]
    fn judges_and_fixes() {
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        p.syscalls.push(SyscallRule {
            names: vec!["mkdir".into()],
            action: Action::KillProcess,
            errno_ret: None,
            args: vec![],
            unknown_fields: Default::default(),
        });
        p.syscalls.push(SyscallRule {
            names: vec!["getcwd".into()],
            action: Action::Log,
            errno_ret: None,
            args: vec![],
            unknown_fields: Default::default(),
        });
        // read (allowed), write (default), mkdir (rule), getcwd (logged by
        // the profile itself), an ia32 call (architecture not listed).
        let ia32 = SeccompRecord {
            audit_arch: 0x4000_0003,
            syscall: 20,
            ..record(0)
        };
        let records = [
            record(0),
            record(1),
            record(83),
            record(79),
            ia32,
            record(999),
        ];
        let c = Complaint::from_records(&p, records, Arch::X86_64);
        let denied: Vec<String> = c
            .denied
            .iter()
            .map(|((a, n), r)| format!("{a} {n}: {r}"))
            .collect();
        assert_eq!(
            denied,
            [
                "x86 getpid: architecture not listed: thread killed",
                "x86_64 mkdir: SCMP_ACT_KILL_PROCESS",
                "x86_64 write: SCMP_ACT_ERRNO(ENOSYS) (default)",
            ]
        );
        assert_eq!(c.unknown, BTreeSet::from([(0xc000_003e, 999)]));
        let (fixed, kept) = c.fix(&p);
        assert_eq!(kept, ["mkdir"]);
        assert_eq!(fixed.syscalls[0].names, ["getpid", "read", "write"]);
        assert_eq!(fixed.architectures, [Arch::X86_64, Arch::X86]);
        // ioctl allowed for TCGETS only: a logged ioctl passed another.
        let mut q = p.clone();
        q.syscalls.push(SyscallRule {
            args: vec![crate::profile::ArgCondition {
                index: 1,
                value: 0x5401,
                value_two: 0,
                op: crate::profile::ArgOp::Equal,
            }],
            ..SyscallRule::new(["ioctl".into()], Action::Allow)
        });
        let c = Complaint::from_records(&q, [record(16)], Arch::X86_64);
        assert_eq!(
            c.denied[&(Arch::X86_64, "ioctl".to_string())].to_string(),
            "only TCGETS; denied for the arguments it passed (audit records carry none, so which ones is not known: `recorder record --args` of the same run shows them)"
        );
    }
}
