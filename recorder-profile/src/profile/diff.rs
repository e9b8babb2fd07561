//! Differences between two profiles, per architecture, in what they let
//! through: the default action, each syscall's treatment, and which
//! architectures the filter covers.
//!
//! Architectures with the same differences are shown together. A name only
//! counts on an architecture where the syscall exists.
//!
//! ```
//! use recorder_profile::arch::Arch;
//! use recorder_profile::profile::Profile;
//! use recorder_profile::profile::diff::diff;
//! let a = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
//! let b = Profile::allow_list([Arch::X86_64], ["read".to_string(), "write".to_string()], 38);
//! let d = diff(&a, &b, Arch::X86_64);
//! assert!(!d.is_empty());
//! assert_eq!(d.render("a", "b"), "--- a\n+++ b\n@@ x86_64 @@\n-write  SCMP_ACT_ERRNO(ENOSYS) (default)\n+write  SCMP_ACT_ALLOW\n");
//! ```

use std::collections::{BTreeMap, BTreeSet};

use super::Profile;
use super::effective::{Effective, Treatment};
use super::values::{describe_rule, describe_treatment};
use crate::arch::Arch;

/// One line of difference on some architectures.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difference {
    /// The filter covers the architecture in one profile only.
    Coverage { left: bool, right: bool },
    /// The default actions differ.
    Default { left: String, right: String },
    /// A syscall is treated differently.
    Syscall {
        name: String,
        left: String,
        right: String,
    },
    /// A syscall is allowed (or denied) for different argument values:
    /// the rules only one side has, their values named.
    Values {
        name: String,
        left: Vec<String>,
        right: Vec<String>,
    },
}

/// All differences, grouped by the architectures they hold on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub groups: Vec<(Vec<Arch>, Vec<Difference>)>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// A unified-diff-like text: `-` lines for the left profile, `+` lines
    /// for the right one.
    pub fn render(&self, left: &str, right: &str) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut out = format!("--- {left}\n+++ {right}\n");
        let width = self
            .groups
            .iter()
            .flat_map(|(_, d)| d)
            .filter_map(|d| match d {
                Difference::Syscall { name, .. } | Difference::Values { name, .. } => {
                    Some(name.len())
                }
                Difference::Default { .. } => Some("(default)".len()),
                Difference::Coverage { .. } => None,
            })
            .max()
            .unwrap_or(0);
        for (arches, differences) in &self.groups {
            let names: Vec<&str> = arches.iter().map(|a| a.short_name()).collect();
            out.push_str(&format!("@@ {} @@\n", names.join(", ")));
            for d in differences {
                let pair = |what: &str, l: &str, r: &str| {
                    format!("-{what:<width$}  {l}\n+{what:<width$}  {r}\n")
                };
                match d {
                    Difference::Coverage { left, right } => {
                        let state = |listed: bool| {
                            if listed {
                                "architecture covered"
                            } else {
                                "architecture not covered: every syscall is killed"
                            }
                        };
                        out.push_str(&format!("-{}\n+{}\n", state(*left), state(*right)));
                    }
                    Difference::Default { left, right } => {
                        out.push_str(&pair("(default)", left, right));
                    }
                    Difference::Syscall { name, left, right } => {
                        out.push_str(&pair(name, left, right));
                    }
                    Difference::Values { name, left, right } => {
                        for rule in left {
                            out.push_str(&format!("-{name:<width$}  {rule}\n"));
                        }
                        for rule in right {
                            out.push_str(&format!("+{name:<width$}  {rule}\n"));
                        }
                    }
                }
            }
        }
        out
    }
}

fn describe(name: &str, e: &Effective, t: &Treatment, explicit: bool) -> String {
    let text = describe_treatment(name, t, e.default);
    if explicit {
        text
    } else {
        format!("{text} (default)")
    }
}

/// Compares `left` with `right` as a host of `native` architecture loads
/// them (the native architecture is always covered).
pub fn diff(left: &Profile, right: &Profile, native: Arch) -> Diff {
    let l = Effective::of(left);
    let r = Effective::of(right);
    let l_arches = l.covered_arches(native);
    let r_arches = r.covered_arches(native);
    let all: BTreeSet<Arch> = l_arches.union(&r_arches).copied().collect();
    let names: BTreeSet<&String> = l.rules.keys().chain(r.rules.keys()).collect();
    let mut by_arch: BTreeMap<Vec<Difference>, Vec<Arch>> = BTreeMap::new();
    // The native architecture first, then the others in their usual order.
    let order = std::iter::once(native).chain(all.iter().copied().filter(|&a| a != native));
    for arch in order {
        let in_l = l_arches.contains(&arch);
        let in_r = r_arches.contains(&arch);
        let mut differences = Vec::new();
        if in_l != in_r {
            differences.push(Difference::Coverage {
                left: in_l,
                right: in_r,
            });
        } else {
            if l.default != r.default {
                differences.push(Difference::Default {
                    left: l.default.to_string(),
                    right: r.default.to_string(),
                });
            }
            for name in names
                .iter()
                .filter(|n| super::syscall_names::applies(arch, n))
            {
                let lt = l.treatment(name);
                let rt = r.treatment(name);
                let same_fallback = lt.fallback(l.default) == rt.fallback(r.default);
                if same_fallback && lt.conditional == rt.conditional {
                    continue;
                }
                if same_fallback && !lt.conditional.is_empty() && !rt.conditional.is_empty() {
                    let only = |a: &Treatment, b: &Treatment| -> Vec<String> {
                        a.conditional
                            .difference(&b.conditional)
                            .map(|rule| describe_rule(name, rule))
                            .collect()
                    };
                    differences.push(Difference::Values {
                        name: name.to_string(),
                        left: only(&lt, &rt),
                        right: only(&rt, &lt),
                    });
                    continue;
                }
                differences.push(Difference::Syscall {
                    name: name.to_string(),
                    left: describe(name, &l, &lt, l.rules.contains_key(*name)),
                    right: describe(name, &r, &rt, r.rules.contains_key(*name)),
                });
            }
        }
        if !differences.is_empty() {
            by_arch.entry(differences).or_default().push(arch);
        }
    }
    let mut groups: Vec<(Vec<Arch>, Vec<Difference>)> =
        by_arch.into_iter().map(|(d, a)| (a, d)).collect();
    groups.sort_by_key(|(arches, _)| (arches[0] != native, arches[0]));
    Diff { groups }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Action, SyscallRule};

    #[test]
    fn identical_profiles_have_no_diff() {
        let a = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        let mut b = a.clone();
        b.syscalls[0].errno_ret = Some(4);
        assert!(diff(&a, &b, Arch::X86_64).is_empty());
    }

    #[test]
    fn value_differences_are_shown_by_name() {
        use crate::profile::{ArgCondition, ArgOp};
        let with_ioctls = |values: &[u64]| {
            let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
            for &value in values {
                p.syscalls.push(SyscallRule {
                    args: vec![ArgCondition {
                        index: 1,
                        value,
                        value_two: 0,
                        op: ArgOp::Equal,
                    }],
                    ..SyscallRule::new(["ioctl".into()], Action::Allow)
                });
            }
            p
        };
        let a = with_ioctls(&[0x5401, 0x5413]);
        let b = with_ioctls(&[0x5401, 0x541b]);
        assert_eq!(
            diff(&a, &b, Arch::X86_64).render("a", "b"),
            "--- a\n+++ b\n@@ x86_64 @@\n\
             -ioctl  SCMP_ACT_ALLOW if arg1 == TIOCGWINSZ\n\
             +ioctl  SCMP_ACT_ALLOW if arg1 == FIONREAD\n"
        );
        let plain = Profile::allow_list([Arch::X86_64], ["ioctl".into(), "read".into()], 38);
        assert_eq!(
            diff(&a, &plain, Arch::X86_64).render("a", "b"),
            "--- a\n+++ b\n@@ x86_64 @@\n\
             -ioctl  only TCGETS, TIOCGWINSZ\n\
             +ioctl  SCMP_ACT_ALLOW\n"
        );
    }

    #[test]
    fn per_arch_groups() {
        let a = Profile::allow_list(
            [Arch::X86_64, Arch::X86],
            ["read", "mmap2"].map(String::from),
            38,
        );
        let mut b = Profile::allow_list([Arch::X86_64], ["read".to_string()], 1);
        b.syscalls.push(SyscallRule {
            names: vec!["ptrace".into()],
            action: Action::KillProcess,
            errno_ret: None,
            args: vec![],
            unknown_fields: Default::default(),
        });
        let d = diff(&a, &b, Arch::X86_64);
        assert_eq!(
            d.render("a.json", "b.json"),
            "--- a.json\n+++ b.json\n\
             @@ x86_64 @@\n\
             -(default)  SCMP_ACT_ERRNO(ENOSYS)\n+(default)  SCMP_ACT_ERRNO(EPERM)\n\
             -ptrace     SCMP_ACT_ERRNO(ENOSYS) (default)\n+ptrace     SCMP_ACT_KILL_PROCESS\n\
             @@ x86 @@\n\
             -architecture covered\n+architecture not covered: every syscall is killed\n"
        );
    }
}
