//! A profile loaded into libseccomp the way runc loads it: the one place
//! where profile rules meet libseccomp.
//!
//! runc (libcontainer/seccomp) creates a filter with the default action and
//! its errno, adds the listed architectures to the native one, turns on
//! libseccomp's binary-tree optimisation past 32 rules, and adds each rule
//! in order: rules whose action equals the default are skipped (libseccomp
//! would refuse them), names libseccomp does not know are skipped, a rule
//! that tests one argument twice becomes one rule per condition. crun does
//! the same. What libseccomp then keeps decides what a container may do:
//!
//! - the first rule without conditions for a syscall wins; a later one with
//!   another action is dropped without an error;
//! - a rule without conditions replaces the conditional rules of the same
//!   syscall, and conditional rules added after it are dropped;
//! - conditional rules whose conditions collide with different actions are
//!   refused (`EEXIST`): runc and crun then fail to start the container.
//!
//! [`load`] reports those refusals instead of stopping at the first, so that
//! the readers can warn about exactly them and `recorder run` can refuse.
//!
//! ```
//! use recorder_profile::arch::Arch;
//! use recorder_profile::profile::{loading, Profile};
//! let p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
//! let loaded = loading::load(&p, loading::BadArch::Kill).unwrap();
//! assert!(loaded.refused.is_empty());
//! ```

use super::effective::Verdict;
use super::{Action, ArgCondition, Profile};
use crate::arch::Arch;
use crate::seccomp::{self, Filter};

/// runc turns on libseccomp's binary-tree optimisation above this many rules.
const OPTIMIZE_ABOVE: usize = 32;

/// Why libseccomp could not build a filter at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "the installed libseccomp does not support architecture {0}: remove it from the profile or upgrade libseccomp"
    )]
    UnsupportedArch(Arch),
    #[error(transparent)]
    Libseccomp(#[from] seccomp::Error),
}

/// A rule libseccomp refused, which makes runc and crun fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The syscall the rule was for.
    pub name: String,
    pub verdict: Verdict,
    /// The rule's conditions, as the profile gives them.
    pub conditions: Vec<ArgCondition>,
    /// Why, in words: libseccomp's own error says little.
    pub reason: String,
}

/// The largest errno libseccomp accepts in an action (its `MAX_ERRNO` is
/// 4095, and it wants less).
pub const LARGEST_ERRNO: u32 = 4094;

/// Why libseccomp refused to add a rule with `verdict`.
fn reason(verdict: Verdict, error: &seccomp::Error) -> String {
    if error.collides() {
        "its argument conditions collide with an earlier rule's that has another action".into()
    } else if error.invalid()
        && verdict.action == Action::Errno
        && verdict.errno.is_some_and(|e| e > LARGEST_ERRNO)
    {
        format!("libseccomp takes errno values up to {LARGEST_ERRNO}")
    } else {
        format!("libseccomp: {}", error.libseccomp_message())
    }
}

/// What happens to syscalls of architectures the profile does not list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadArch {
    /// libseccomp's default, which runc keeps: the thread is killed.
    Kill,
    /// Logged and let through (complain mode).
    Log,
}

/// A filter as libseccomp built it.
pub struct Loaded {
    pub filter: Filter,
    /// Names libseccomp does not know (runc and crun skip them).
    pub skipped: Vec<String>,
    /// Rules libseccomp refused, in profile order.
    pub refused: Vec<Refusal>,
}

/// Whether a rule tests some argument twice; runc then adds one rule per
/// condition (any of them matches) instead of one rule with all of them.
pub fn tests_an_argument_twice(args: &[ArgCondition]) -> bool {
    let mut indexes: Vec<u32> = args.iter().map(|a| a.index).collect();
    indexes.sort_unstable();
    indexes.windows(2).any(|w| w[0] == w[1])
}

/// Builds the filter runc would build for `profile`.
pub fn load(profile: &Profile, bad_arch: BadArch) -> Result<Loaded, LoadError> {
    let default = Verdict::new(profile.default_action, profile.default_errno_ret);
    let mut filter = Filter::new(default)?;
    for &arch in &profile.architectures {
        if !seccomp::supports(arch) {
            return Err(LoadError::UnsupportedArch(arch));
        }
        filter.add_arch(arch)?;
    }
    if bad_arch == BadArch::Log {
        filter.log_bad_arch()?;
    }
    if profile.syscalls.len() > OPTIMIZE_ABOVE {
        // Older libseccomp releases lack it; runc goes on without, too.
        let _ = filter.optimize();
    }
    let mut skipped = Vec::new();
    let mut refused = Vec::new();
    for rule in &profile.syscalls {
        let verdict = Verdict::new(rule.action, rule.errno_ret);
        if verdict == default {
            continue;
        }
        let split = tests_an_argument_twice(&rule.args);
        for name in &rule.names {
            let Ok(syscall) = seccomp::syscall(name) else {
                skipped.push(name.clone());
                continue;
            };
            let result = if split {
                rule.args
                    .iter()
                    .try_for_each(|c| filter.add_rule(verdict, syscall, std::slice::from_ref(c)))
            } else {
                filter.add_rule(verdict, syscall, &rule.args)
            };
            if let Err(e) = result {
                refused.push(Refusal {
                    name: name.clone(),
                    verdict,
                    conditions: rule.args.clone(),
                    reason: reason(verdict, &e),
                });
            }
        }
    }
    Ok(Loaded {
        filter,
        skipped,
        refused,
    })
}

/// The rules of `profile` that libseccomp refuses, checked on the
/// architectures the installed libseccomp supports (the others cannot be
/// checked here); an error when it refuses the profile as a whole (its
/// default action).
pub fn refusals(profile: &Profile) -> Result<Vec<Refusal>, LoadError> {
    let mut checkable = profile.clone();
    checkable.architectures.retain(|&a| seccomp::supports(a));
    load(&checkable, BadArch::Kill).map(|loaded| loaded.refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::effective::Effective;
    use crate::profile::{ArgOp, SyscallRule};

    fn rule(
        names: &[&str],
        action: Action,
        errno: Option<u32>,
        args: &[(u32, u64)],
    ) -> SyscallRule {
        SyscallRule {
            errno_ret: errno,
            args: args
                .iter()
                .map(|&(index, value)| ArgCondition {
                    index,
                    value,
                    value_two: 0,
                    op: ArgOp::Equal,
                })
                .collect(),
            ..SyscallRule::new(names.iter().map(|s| s.to_string()), action)
        }
    }

    fn profile(rules: Vec<SyscallRule>) -> Profile {
        Profile {
            syscalls: rules,
            ..Profile::allow_list([Arch::X86_64], Vec::<String>::new(), 38)
        }
    }

    /// The filter libseccomp generated, as its pseudo-code, for the rules of
    /// one syscall.
    fn pfc(p: &Profile) -> String {
        let loaded = load(p, BadArch::Kill).unwrap();
        let file = tempfile::tempfile().unwrap();
        loaded.filter.export_pfc(&file).unwrap();
        let mut text = String::new();
        use std::io::{Read, Seek};
        let mut file = file;
        file.rewind().unwrap();
        file.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn different_unconditional_actions_are_accepted_and_the_first_wins() {
        // podman's profile: setns allowed, then (without CAP_SYS_ADMIN)
        // denied with EPERM. runc and crun start containers under it.
        let p = profile(vec![
            rule(&["setns", "read"], Action::Allow, None, &[]),
            rule(&["setns"], Action::Errno, Some(1), &[]),
        ]);
        assert!(refusals(&p).unwrap().is_empty());
        let code = pfc(&p);
        assert!(
            code.contains("if ($syscall == 308)\n    action ALLOW;"),
            "{code}"
        );
        assert!(!code.contains("ERRNO(1)"), "{code}");
        assert_eq!(
            Effective::of(&p).rules["setns"].unconditional,
            Some(Verdict::ALLOW)
        );
    }

    #[test]
    fn an_unconditional_rule_replaces_conditional_ones_in_either_order() {
        for rules in [
            vec![
                rule(&["personality"], Action::Allow, None, &[(0, 8)]),
                rule(&["personality"], Action::Errno, Some(13), &[]),
            ],
            vec![
                rule(&["personality"], Action::Errno, Some(13), &[]),
                rule(&["personality"], Action::Allow, None, &[(0, 8)]),
            ],
        ] {
            let p = profile(rules);
            assert!(refusals(&p).unwrap().is_empty());
            let code = pfc(&p);
            assert!(!code.contains("$a0"), "{code}");
            let e = Effective::of(&p);
            assert_eq!(
                e.rules["personality"].unconditional,
                Some(Verdict::new(Action::Errno, Some(13)))
            );
            assert!(e.rules["personality"].conditional.is_empty());
        }
    }

    #[test]
    fn colliding_conditions_with_different_actions_are_refused() {
        let p = profile(vec![
            rule(&["personality"], Action::Allow, None, &[(0, 8)]),
            rule(&["personality"], Action::Errno, Some(1), &[(0, 8)]),
            rule(&["socket"], Action::Allow, None, &[(0, 1)]),
            rule(&["socket"], Action::Allow, None, &[(0, 2)]),
        ]);
        let refused = refusals(&p).unwrap();
        assert_eq!(
            refused
                .iter()
                .map(|r| (r.name.as_str(), r.verdict.to_string()))
                .collect::<Vec<_>>(),
            [("personality", "SCMP_ACT_ERRNO(EPERM)".to_string())]
        );
    }

    /// musl passes int ioctl requests sign-extended, and `--args` keeps
    /// the whole register: such a value still loads where a 32-bit ABI is
    /// listed (libseccomp compares its low 32 bits there).
    #[test]
    fn sign_extended_values_load_on_32_bit_abis_too() {
        let mut p = profile(vec![rule(
            &["ioctl"],
            Action::Allow,
            None,
            &[(1, 0xffff_ffff_8004_5430)],
        )]);
        p.architectures.push(Arch::X86);
        assert!(refusals(&p).unwrap().is_empty());
        let code = pfc(&p);
        assert!(code.contains("if ($a1.hi32 == 4294967295)"), "{code}");
        assert!(code.contains("if ($a1 == 2147767344)"), "{code}");
    }

    #[test]
    fn errnos_above_4094_are_refused() {
        let p = profile(vec![
            rule(&["syslog"], Action::Errno, Some(12345), &[]),
            rule(&["read"], Action::Errno, Some(4094), &[]),
        ]);
        let refused = refusals(&p).unwrap();
        assert_eq!(
            refused
                .iter()
                .map(|r| (r.name.as_str(), r.reason.as_str()))
                .collect::<Vec<_>>(),
            [("syslog", "libseccomp takes errno values up to 4094")]
        );
        let mut p = profile(vec![]);
        p.default_errno_ret = Some(4095);
        assert!(refusals(&p).is_err());
    }

    #[test]
    fn rules_like_the_default_and_unknown_names_are_skipped() {
        let p = profile(vec![
            rule(&["read", "no_such_call"], Action::Allow, None, &[]),
            rule(&["write"], Action::Errno, Some(38), &[]),
        ]);
        let loaded = load(&p, BadArch::Kill).unwrap();
        assert_eq!(loaded.skipped, ["no_such_call"]);
        assert!(loaded.refused.is_empty());
    }
}
