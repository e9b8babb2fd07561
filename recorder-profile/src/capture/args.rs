//! From the argument values a recording captured (`--args`) to the OCI
//! `args` conditions that allow exactly those, written as Docker's default
//! profile writes its own: one rule per value or tuple (`SCMP_CMP_EQ`; a
//! socket's type `SCMP_CMP_MASKED_EQ` with mask 0xf), and for flag words
//! `SCMP_CMP_MASKED_EQ` with `value` the mask and `valueTwo` 0: the
//! namespace flags `clone` and `unshare` never asked for, `PROT_EXEC` when
//! `mprotect` never asked for it.
//!
//! A value that was used is never denied, with one exception: `clone3`
//! that asked for no namespace fails with ENOSYS, as under Docker's
//! profile, so that libc falls back to `clone`, whose flags the filter can
//! check (seccomp cannot read `clone3`'s, which are in memory). An OCI
//! profile has no per-ABI rules, so a syscall stays unconditional where
//! some listed ABI cannot check it: `socket` and `socketpair` once
//! `socketcall` (ia32 glibc's way to them) was used. So do the syscalls of
//! a runtime's base profile, which its runtime makes with any values.

use std::collections::BTreeSet;
use std::fmt;

use recorder_common::ArgSyscall;

use super::seen::{ArgUse, ArgValues, clone_flags_index};
use crate::arch::Arch;
use crate::profile::{Action, ArgCondition, ArgOp, SyscallRule};

/// The namespace flags of `clone`'s flags word (CLONE_NEWNS, NEWCGROUP,
/// NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET): Docker's mask 0x7e020000.
pub const CLONE_NAMESPACES: u64 = 0x7e02_0000;
/// CLONE_NEWTIME, which only `unshare` and `clone3` take (in `clone` that
/// bit belongs to the exit signal).
pub const CLONE_NEWTIME: u64 = 0x80;
/// PROT_EXEC.
pub const PROT_EXEC: u64 = 0x4;
/// ENOSYS, for `clone3`.
pub const ENOSYS: u32 = 38;

/// What the user should be told about the conditions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ArgNote {
    /// `clone3` asked for no namespace: it fails with ENOSYS.
    Clone3Enosys,
    /// More distinct values than the kernel side's table holds.
    TooManyValues { name: &'static str, capacity: usize },
    /// The arguments could not be read (`clone3`'s flags in memory).
    Unreadable { name: &'static str },
    /// Used, yet no value reached the recorder (a recording that began
    /// in the middle of a call, or a daemon without the syscall).
    NoValues { name: &'static str },
    /// `socketcall` was used: the socket calls it stands for cannot be
    /// checked.
    Socketcall { names: Vec<&'static str> },
}

impl fmt::Display for ArgNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgNote::Clone3Enosys => f.write_str(
                "clone3 asked for no namespace: the profile fails it with ENOSYS, as Docker's does, so that libc falls back to clone, whose flags the filter can check (and allows clone without namespace flags)",
            ),
            ArgNote::TooManyValues { name, capacity } => write!(
                f,
                "warning: {name} used more distinct values than the recorder keeps ({capacity}): allowed without a condition"
            ),
            ArgNote::Unreadable { name } => write!(
                f,
                "warning: {name}'s arguments could not be read: allowed without a condition"
            ),
            ArgNote::NoValues { name } => write!(
                f,
                "warning: no argument values of {name} were recorded: allowed without a condition"
            ),
            ArgNote::Socketcall { names } => write!(
                f,
                "{} allowed without a condition: socketcall was used, whose arguments seccomp cannot see, and an OCI profile has no per-ABI rules",
                names.join(", ")
            ),
        }
    }
}

/// The conditional rules for a profile's names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    /// Names to take out of the unconditional allow rule.
    pub conditioned: BTreeSet<&'static str>,
    /// The rules that replace them, in profile order.
    pub rules: Vec<SyscallRule>,
    pub notes: Vec<ArgNote>,
}

/// Rules for the captured syscalls among `names` (those allowed), from
/// what they used. `unconditional`: names that stay as they are (a
/// runtime's base profile's); `arches`: the profile's; `errno`: its
/// default errno.
pub fn conditions(
    names: &BTreeSet<&'static str>,
    args: &ArgValues,
    unconditional: &BTreeSet<&'static str>,
    arches: &[Arch],
    errno: u32,
) -> Conditions {
    let mut out = Conditions::default();
    let socketcall = names.contains("socketcall");
    let mut by_socketcall = Vec::new();
    let mut syscalls: Vec<ArgSyscall> = ArgSyscall::ALL.to_vec();
    syscalls.sort_by_key(|s| s.name());
    for syscall in syscalls {
        let name = syscall.name();
        if !names.contains(name) || unconditional.contains(name) {
            continue;
        }
        let used = match args.get(syscall) {
            Some(ArgUse::Overflowed) => {
                out.notes.push(if syscall == ArgSyscall::Clone3 {
                    ArgNote::Unreadable { name }
                } else {
                    ArgNote::TooManyValues {
                        name,
                        capacity: capacity(syscall),
                    }
                });
                continue;
            }
            Some(ArgUse::Values(v)) if v.is_empty() => {
                out.notes.push(ArgNote::NoValues { name });
                continue;
            }
            Some(used) => used,
            None => {
                out.notes.push(ArgNote::NoValues { name });
                continue;
            }
        };
        if socketcall && matches!(syscall, ArgSyscall::Socket | ArgSyscall::Socketpair) {
            by_socketcall.push(name);
            continue;
        }
        let rule = |args: Vec<ArgCondition>| SyscallRule {
            args,
            ..SyscallRule::new([name.to_string()], Action::Allow)
        };
        let mut rules: Vec<SyscallRule> = match (syscall, used) {
            (ArgSyscall::Socket, ArgUse::Values(v)) => v
                .iter()
                .filter_map(|t| match t.as_slice() {
                    [domain, ty, protocol] => Some(rule(vec![
                        eq(0, *domain),
                        socket_type(*ty),
                        eq(2, *protocol),
                    ])),
                    _ => None,
                })
                .collect(),
            (ArgSyscall::Socketpair, ArgUse::Values(v)) => v
                .iter()
                .filter_map(|t| match t.as_slice() {
                    [domain, ty] => Some(rule(vec![eq(0, *domain), socket_type(*ty)])),
                    _ => None,
                })
                .collect(),
            (ArgSyscall::Clone, ArgUse::Flags(seen)) => {
                let Some(index) = clone_index(arches) else {
                    continue;
                };
                never(index, CLONE_NAMESPACES & !seen)
                    .map(rule)
                    .into_iter()
                    .collect()
            }
            (ArgSyscall::Unshare, ArgUse::Flags(seen)) => {
                never(0, (CLONE_NAMESPACES | CLONE_NEWTIME) & !seen)
                    .map(rule)
                    .into_iter()
                    .collect()
            }
            (ArgSyscall::Mprotect | ArgSyscall::PkeyMprotect, ArgUse::Flags(seen)) => {
                never(2, PROT_EXEC & !seen).map(rule).into_iter().collect()
            }
            (ArgSyscall::Clone3, ArgUse::Flags(seen)) => {
                if seen & (CLONE_NAMESPACES | CLONE_NEWTIME) != 0 {
                    continue;
                }
                out.notes.push(ArgNote::Clone3Enosys);
                // libc's fallback must find clone allowed: a program that
                // only made threads never called it.
                if !names.contains("clone")
                    && let Some(index) = clone_index(arches)
                {
                    out.rules
                        .extend(never(index, CLONE_NAMESPACES).map(|args| SyscallRule {
                            args,
                            ..SyscallRule::new(["clone".to_string()], Action::Allow)
                        }));
                }
                // A rule that repeats the default is skipped by runc (and
                // refused by libseccomp): then leaving clone3 out is it.
                if errno == ENOSYS {
                    Vec::new()
                } else {
                    vec![SyscallRule {
                        errno_ret: Some(ENOSYS),
                        ..SyscallRule::new([name.to_string()], Action::Errno)
                    }]
                }
            }
            (_, ArgUse::Values(v)) => v
                .iter()
                .filter_map(|t| match t.as_slice() {
                    [value] => Some(rule(vec![eq(value_index(syscall), *value)])),
                    _ => None,
                })
                .collect(),
            _ => continue,
        };
        if matches!(used, ArgUse::Flags(_)) && rules.is_empty() && syscall != ArgSyscall::Clone3 {
            // Every flag that matters was used: no condition is left.
            continue;
        }
        out.conditioned.insert(name);
        out.rules.append(&mut rules);
    }
    if !by_socketcall.is_empty() {
        out.notes.push(ArgNote::Socketcall {
            names: by_socketcall,
        });
    }
    out.notes.sort();
    out
}

/// The argument a value of `syscall` is compared at.
fn value_index(syscall: ArgSyscall) -> u32 {
    match syscall {
        ArgSyscall::Ioctl | ArgSyscall::Setns => 1,
        _ => 0,
    }
}

/// How many values the kernel side keeps for `syscall`.
pub fn capacity(syscall: ArgSyscall) -> usize {
    match syscall {
        ArgSyscall::Ioctl | ArgSyscall::Prctl => recorder_common::WIDE_VALUES,
        _ => recorder_common::NARROW_VALUES,
    }
}

/// Which argument of `clone` the profile checks: the one all its
/// architectures agree on, or `None` (no condition) when they differ.
fn clone_index(arches: &[Arch]) -> Option<u32> {
    let indexes: BTreeSet<u32> = arches.iter().map(|&a| clone_flags_index(a)).collect();
    match indexes.len() {
        0 => Some(clone_flags_index(Arch::host())),
        1 => indexes.into_iter().next(),
        _ => None,
    }
}

fn eq(index: u32, value: u64) -> ArgCondition {
    ArgCondition {
        index,
        value,
        value_two: 0,
        op: ArgOp::Equal,
    }
}

/// The type argument without its flag bits (SOCK_CLOEXEC, SOCK_NONBLOCK).
fn socket_type(ty: u64) -> ArgCondition {
    ArgCondition {
        index: 1,
        value: recorder_common::SOCK_TYPE_MASK,
        value_two: ty,
        op: ArgOp::MaskedEqual,
    }
}

/// The condition that the bits of `mask` are never set in argument
/// `index`, or `None` when there are none.
fn never(index: u32, mask: u64) -> Option<Vec<ArgCondition>> {
    (mask != 0).then(|| {
        vec![ArgCondition {
            index,
            value: mask,
            value_two: 0,
            op: ArgOp::MaskedEqual,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn values(v: &[&[u64]]) -> ArgUse {
        ArgUse::Values(v.iter().map(|t| t.to_vec()).collect())
    }

    fn args(entries: Vec<(ArgSyscall, ArgUse)>) -> ArgValues {
        ArgValues {
            by_syscall: entries.into_iter().collect::<BTreeMap<_, _>>(),
        }
    }

    fn names(n: &[&'static str]) -> BTreeSet<&'static str> {
        n.iter().copied().collect()
    }

    fn json(rules: &[SyscallRule]) -> String {
        serde_json::to_string(rules).unwrap()
    }

    #[test]
    fn values_tuples_and_flag_words() {
        let seen = args(vec![
            (ArgSyscall::Socket, values(&[&[1, 1, 0], &[2, 2, 0]])),
            (ArgSyscall::Ioctl, values(&[&[0x5401], &[0x541b]])),
            (ArgSyscall::Clone, ArgUse::Flags(0x0001_0f00)),
            (ArgSyscall::Unshare, ArgUse::Flags(0x400)),
            (ArgSyscall::Mprotect, ArgUse::Flags(0x1)),
            (ArgSyscall::Personality, values(&[&[0xffff_ffff]])),
        ]);
        let c = conditions(
            &names(&[
                "clone",
                "ioctl",
                "mprotect",
                "personality",
                "read",
                "socket",
                "unshare",
            ]),
            &seen,
            &BTreeSet::new(),
            &[Arch::X86_64],
            38,
        );
        assert_eq!(
            c.conditioned,
            names(&[
                "clone",
                "ioctl",
                "mprotect",
                "personality",
                "socket",
                "unshare"
            ])
        );
        assert_eq!(
            json(&c.rules),
            concat!(
                r#"[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"op":"SCMP_CMP_MASKED_EQ"}]},"#,
                r#"{"names":["ioctl"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":21505,"op":"SCMP_CMP_EQ"}]},"#,
                r#"{"names":["ioctl"],"action":"SCMP_ACT_ALLOW","args":[{"index":1,"value":21531,"op":"SCMP_CMP_EQ"}]},"#,
                r#"{"names":["mprotect"],"action":"SCMP_ACT_ALLOW","args":[{"index":2,"value":4,"op":"SCMP_CMP_MASKED_EQ"}]},"#,
                r#"{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":4294967295,"op":"SCMP_CMP_EQ"}]},"#,
                r#"{"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":1,"value":15,"valueTwo":1,"op":"SCMP_CMP_MASKED_EQ"},{"index":2,"value":0,"op":"SCMP_CMP_EQ"}]},"#,
                r#"{"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2,"op":"SCMP_CMP_EQ"},{"index":1,"value":15,"valueTwo":2,"op":"SCMP_CMP_MASKED_EQ"},{"index":2,"value":0,"op":"SCMP_CMP_EQ"}]},"#,
                r#"{"names":["unshare"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060416,"op":"SCMP_CMP_MASKED_EQ"}]}]"#,
            )
        );
        assert!(c.notes.is_empty());
    }

    #[test]
    fn used_flags_leave_no_condition_and_clone_moves_on_s390() {
        let seen = args(vec![
            (ArgSyscall::Clone, ArgUse::Flags(CLONE_NAMESPACES)),
            (ArgSyscall::Mprotect, ArgUse::Flags(PROT_EXEC | 1)),
        ]);
        let c = conditions(
            &names(&["clone", "mprotect"]),
            &seen,
            &BTreeSet::new(),
            &[Arch::X86_64],
            38,
        );
        assert_eq!(c, Conditions::default());
        let seen = args(vec![(ArgSyscall::Clone, ArgUse::Flags(0))]);
        let c = conditions(
            &names(&["clone"]),
            &seen,
            &BTreeSet::new(),
            &[Arch::S390x, Arch::S390],
            38,
        );
        assert_eq!(c.rules[0].args[0].index, 1);
        // Architectures that disagree leave clone unconditional.
        let c = conditions(
            &names(&["clone"]),
            &seen,
            &BTreeSet::new(),
            &[Arch::X86_64, Arch::S390x],
            38,
        );
        assert!(c.rules.is_empty());
    }

    #[test]
    fn clone3_without_namespaces_fails_with_enosys() {
        let none = args(vec![
            (ArgSyscall::Clone3, ArgUse::Flags(0x0001_0f00)),
            (ArgSyscall::Clone, ArgUse::Flags(0x0100_0000)),
        ]);
        let c = conditions(
            &names(&["clone", "clone3"]),
            &none,
            &BTreeSet::new(),
            &[Arch::X86_64],
            38,
        );
        assert_eq!(c.conditioned, names(&["clone", "clone3"]));
        assert_eq!(
            json(&c.rules),
            r#"[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"op":"SCMP_CMP_MASKED_EQ"}]}]"#,
            "no clone3 rule: the default is ENOSYS already"
        );
        assert_eq!(c.notes, [ArgNote::Clone3Enosys]);
        // Threads only: clone3 never fell back, so clone is added for libc
        // to fall back to.
        let c = conditions(
            &names(&["clone3"]),
            &none,
            &BTreeSet::new(),
            &[Arch::X86_64],
            1,
        );
        assert_eq!(
            json(&c.rules),
            concat!(
                r#"[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"op":"SCMP_CMP_MASKED_EQ"}]},"#,
                r#"{"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]"#
            )
        );
        let user_ns = args(vec![(ArgSyscall::Clone3, ArgUse::Flags(0x1000_0000))]);
        let c = conditions(
            &names(&["clone3"]),
            &user_ns,
            &BTreeSet::new(),
            &[Arch::X86_64],
            1,
        );
        assert_eq!(c, Conditions::default());
    }

    #[test]
    fn what_cannot_be_checked_stays_unconditional_and_is_said() {
        let seen = args(vec![
            (ArgSyscall::Socket, values(&[&[1, 1, 0]])),
            (ArgSyscall::Ioctl, ArgUse::Overflowed),
            (ArgSyscall::Clone3, ArgUse::Overflowed),
            (ArgSyscall::Prctl, values(&[&[15]])),
            (ArgSyscall::Bpf, values(&[])),
        ]);
        let c = conditions(
            &names(&["bpf", "clone3", "ioctl", "prctl", "socket", "socketcall"]),
            &seen,
            &names(&["prctl"]),
            &[Arch::X86, Arch::X86_64],
            38,
        );
        assert!(c.conditioned.is_empty(), "{c:?}");
        let notes: Vec<String> = c.notes.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            notes,
            [
                "warning: ioctl used more distinct values than the recorder keeps (64): allowed without a condition",
                "warning: clone3's arguments could not be read: allowed without a condition",
                "warning: no argument values of bpf were recorded: allowed without a condition",
                "socket allowed without a condition: socketcall was used, whose arguments seccomp cannot see, and an OCI profile has no per-ABI rules",
            ]
        );
    }
}
