//! What a profile does with each syscall, independent of how its rules are
//! written: the form in which profiles are compared, merged and explained.
//!
//! Two profiles with the same [`Effective`] load into the same filter: rules
//! are regrouped per name, errno values made explicit (EPERM when absent, as
//! runc does), rules that only repeat the default dropped (runc skips them),
//! and a rule with several conditions on the same argument split into one
//! rule per condition (runc's reading of such rules). What libseccomp keeps
//! of several rules for one name is what counts ([`super::loading`]): the
//! first rule without conditions, which replaces every conditional one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::{Action, ArgCondition, ArgOp, Profile, SyscallRule};
use crate::arch::Arch;
use crate::errno::errno_name;

/// errno of an `SCMP_ACT_ERRNO` without `errnoRet` (runc, crun: EPERM).
pub const EPERM: u32 = 1;

/// An action with its errno made explicit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Verdict {
    pub action: Action,
    /// The errno of `SCMP_ACT_ERRNO` (or message of `SCMP_ACT_TRACE`).
    pub errno: Option<u32>,
}

impl Verdict {
    pub fn new(action: Action, errno_ret: Option<u32>) -> Verdict {
        Verdict {
            action,
            errno: action.takes_errno().then(|| errno_ret.unwrap_or(EPERM)),
        }
    }

    pub const ALLOW: Verdict = Verdict {
        action: Action::Allow,
        errno: None,
    };

    /// How much the verdict lets through, for choosing between conflicting
    /// ones: allow > log > trace/notify > errno > trap > kill thread > kill
    /// process.
    pub fn permissiveness(self) -> u8 {
        match self.action {
            Action::Allow => 7,
            Action::Log => 6,
            Action::Trace | Action::Notify => 5,
            Action::Errno => 4,
            Action::Trap => 3,
            Action::KillThread => 2,
            Action::KillProcess => 1,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.action.scmp_name())?;
        match self.errno {
            Some(e) => match errno_name(e) {
                Some(name) if self.action == Action::Errno => write!(f, "({name})"),
                _ => write!(f, "({e})"),
            },
            None => Ok(()),
        }
    }
}

/// Argument conditions that must all hold, and what happens then.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConditionalRule {
    pub conditions: Vec<ArgCondition>,
    pub verdict: Verdict,
}

impl fmt::Display for ConditionalRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} if ", self.verdict)?;
        for (i, c) in self.conditions.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            write_condition(f, c)?;
        }
        Ok(())
    }
}

fn write_condition(f: &mut fmt::Formatter<'_>, c: &ArgCondition) -> fmt::Result {
    let arg = format!("arg{}", c.index);
    match c.op {
        ArgOp::MaskedEqual => write!(f, "{arg} & {:#x} == {:#x}", c.value, c.value_two),
        op => {
            let symbol = op.symbol();
            write!(f, "{arg} {symbol} {}", c.value)
        }
    }
}

/// What a profile does with one syscall, when its rules name it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Treatment {
    /// The verdict of a rule without conditions; `None`: the default's.
    pub unconditional: Option<Verdict>,
    /// Rules with argument conditions, tried before the fallback.
    pub conditional: BTreeSet<ConditionalRule>,
}

impl Treatment {
    /// The verdict when no condition matches.
    pub fn fallback(&self, default: Verdict) -> Verdict {
        self.unconditional.unwrap_or(default)
    }

    /// Whether every call runs, whatever its arguments.
    pub fn always_runs(&self, default: Verdict) -> bool {
        self.fallback(default).action.lets_run()
            && self.conditional.iter().all(|c| c.verdict.action.lets_run())
    }

    /// Whether some calls run (all, or those matching a condition).
    pub fn sometimes_runs(&self, default: Verdict) -> bool {
        self.fallback(default).action.lets_run()
            || self.conditional.iter().any(|c| c.verdict.action.lets_run())
    }

    /// Drops what repeats the default or the fallback.
    fn normalize(&mut self, default: Verdict) {
        if self.unconditional == Some(default) {
            self.unconditional = None;
        }
        let fallback = self.fallback(default);
        self.conditional.retain(|c| c.verdict != fallback);
    }

    fn is_default(&self) -> bool {
        self.unconditional.is_none() && self.conditional.is_empty()
    }

    /// A one-line description, e.g. `SCMP_ACT_ALLOW if arg0 == 8; otherwise
    /// SCMP_ACT_ERRNO(EPERM)`.
    pub fn describe(&self, default: Verdict) -> String {
        let fallback = self.fallback(default);
        if self.conditional.is_empty() {
            return fallback.to_string();
        }
        let mut parts: Vec<String> = self.conditional.iter().map(|c| c.to_string()).collect();
        parts.push(format!("otherwise {fallback}"));
        parts.join("; ")
    }
}

/// A profile as the filter it loads into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    pub default: Verdict,
    /// The listed architectures; empty means the native one only.
    pub architectures: BTreeSet<Arch>,
    /// `None`: no `flags` in the profile (runc's default applies).
    pub flags: Option<BTreeSet<String>>,
    pub listener_path: Option<String>,
    pub listener_metadata: Option<String>,
    /// Every syscall whose treatment differs from the default.
    pub rules: BTreeMap<String, Treatment>,
}

impl Effective {
    pub fn of(profile: &Profile) -> Effective {
        let default = Verdict::new(profile.default_action, profile.default_errno_ret);
        let mut rules: BTreeMap<String, Treatment> = BTreeMap::new();
        for rule in &profile.syscalls {
            let verdict = Verdict::new(rule.action, rule.errno_ret);
            // runc skips rules that repeat the default (libseccomp refuses
            // them), so they cannot hide a later rule.
            if verdict == default {
                continue;
            }
            let condition_sets = condition_sets(&rule.args);
            for name in &rule.names {
                let treatment = rules.entry(name.clone()).or_default();
                if condition_sets.is_empty() {
                    // libseccomp keeps the first unconditional rule and
                    // drops later ones without an error.
                    treatment.unconditional.get_or_insert(verdict);
                } else {
                    for conditions in &condition_sets {
                        treatment.conditional.insert(ConditionalRule {
                            conditions: conditions.clone(),
                            verdict,
                        });
                    }
                }
            }
        }
        for treatment in rules.values_mut() {
            // An unconditional rule replaces the conditional ones, before or
            // after it.
            if treatment.unconditional.is_some() {
                treatment.conditional.clear();
            }
            treatment.normalize(default);
        }
        rules.retain(|_, t| !t.is_default());
        Effective {
            default,
            architectures: profile.architectures.iter().copied().collect(),
            flags: profile.flags.as_ref().map(|f| f.iter().cloned().collect()),
            listener_path: profile.listener_path.clone(),
            listener_metadata: profile.listener_metadata.clone(),
            rules,
        }
    }

    /// The treatment of `name`: its rules, or the default.
    pub fn treatment(&self, name: &str) -> Treatment {
        self.rules.get(name).cloned().unwrap_or_default()
    }

    /// The architectures the filter covers on a host of `native`.
    pub fn covered_arches(&self, native: Arch) -> BTreeSet<Arch> {
        let mut arches = self.architectures.clone();
        arches.insert(native);
        arches
    }

    /// Writes the effective rules back as a profile: one rule per verdict
    /// (allow first), then one per set of conditions. A treatment with both
    /// (which only [`super::merge`] builds) keeps its unconditional verdict,
    /// as libseccomp would.
    pub fn to_profile(&self) -> Profile {
        let mut unconditional: BTreeMap<Verdict, BTreeSet<&str>> = BTreeMap::new();
        let mut conditional: BTreeMap<&ConditionalRule, BTreeSet<&str>> = BTreeMap::new();
        for (name, treatment) in &self.rules {
            // An unconditional verdict that is the default is no rule.
            match treatment.unconditional.filter(|&v| v != self.default) {
                Some(v) => {
                    unconditional.entry(v).or_default().insert(name);
                }
                None => {
                    for c in &treatment.conditional {
                        conditional.entry(c).or_default().insert(name);
                    }
                }
            }
        }
        let mut groups: Vec<(Verdict, BTreeSet<&str>)> = unconditional.into_iter().collect();
        groups.sort_by_key(|(v, _)| (v.action != Action::Allow, *v));
        let rule = |names: BTreeSet<&str>, verdict: Verdict, args: Vec<ArgCondition>| SyscallRule {
            errno_ret: verdict.errno,
            args,
            ..SyscallRule::new(names.into_iter().map(String::from), verdict.action)
        };
        let mut syscalls: Vec<SyscallRule> = groups
            .into_iter()
            .map(|(v, names)| rule(names, v, Vec::new()))
            .collect();
        syscalls.extend(
            conditional
                .into_iter()
                .map(|(c, names)| rule(names, c.verdict, c.conditions.clone())),
        );
        Profile {
            default_action: self.default.action,
            default_errno_ret: self.default.errno,
            architectures: self.architectures.iter().copied().collect(),
            flags: self.flags.as_ref().map(|f| f.iter().cloned().collect()),
            listener_path: self.listener_path.clone(),
            listener_metadata: self.listener_metadata.clone(),
            syscalls,
            unknown_fields: Default::default(),
        }
    }
}

/// The condition sets a rule's `args` stand for: one set normally; one set
/// per condition when an argument is tested twice (runc then adds each
/// condition as its own rule).
fn condition_sets(args: &[ArgCondition]) -> Vec<Vec<ArgCondition>> {
    if args.is_empty() {
        return Vec::new();
    }
    let indexes: BTreeSet<u32> = args.iter().map(|a| a.index).collect();
    if indexes.len() < args.len() {
        args.iter().map(|a| vec![a.clone()]).collect()
    } else {
        let mut set = args.to_vec();
        set.sort();
        vec![set]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        names: &[&str],
        action: Action,
        errno: Option<u32>,
        args: Vec<ArgCondition>,
    ) -> SyscallRule {
        SyscallRule {
            errno_ret: errno,
            args,
            ..SyscallRule::new(names.iter().map(|s| s.to_string()), action)
        }
    }

    fn cond(index: u32, value: u64, op: ArgOp) -> ArgCondition {
        ArgCondition {
            index,
            value,
            value_two: 0,
            op,
        }
    }

    fn profile(rules: Vec<SyscallRule>) -> Profile {
        Profile {
            syscalls: rules,
            ..Profile::allow_list([Arch::X86_64], Vec::<String>::new(), 1)
        }
    }

    #[test]
    fn same_filter_written_differently_is_equal() {
        let a = profile(vec![
            rule(&["read", "write"], Action::Allow, None, vec![]),
            rule(&["mkdir"], Action::Errno, None, vec![]),
            rule(
                &["personality"],
                Action::Allow,
                None,
                vec![cond(0, 8, ArgOp::Equal)],
            ),
        ]);
        let b = profile(vec![
            rule(&["write"], Action::Allow, None, vec![]),
            rule(
                &["personality"],
                Action::Allow,
                None,
                vec![cond(0, 8, ArgOp::Equal)],
            ),
            rule(&["read"], Action::Allow, Some(5), vec![]),
            rule(&["mkdir"], Action::Errno, Some(1), vec![]),
        ]);
        assert_eq!(Effective::of(&a), Effective::of(&b));
        assert!(
            !Effective::of(&a).rules.contains_key("mkdir"),
            "same as default"
        );
    }

    #[test]
    fn repeated_argument_splits_into_rules() {
        let p = profile(vec![rule(
            &["socket"],
            Action::Allow,
            None,
            vec![cond(0, 1, ArgOp::Equal), cond(0, 2, ArgOp::Equal)],
        )]);
        let e = Effective::of(&p);
        assert_eq!(e.rules["socket"].conditional.len(), 2);
        assert_eq!(
            e.rules["socket"].describe(e.default),
            "SCMP_ACT_ALLOW if arg0 == 1; SCMP_ACT_ALLOW if arg0 == 2; otherwise SCMP_ACT_ERRNO(EPERM)"
        );
    }

    #[test]
    fn round_trips_through_profile() {
        let p = profile(vec![
            rule(&["read", "write"], Action::Allow, None, vec![]),
            rule(&["ptrace"], Action::KillProcess, None, vec![]),
            rule(
                &["clone"],
                Action::Allow,
                None,
                vec![cond(0, 0x7e02_0000, ArgOp::MaskedEqual)],
            ),
        ]);
        let e = Effective::of(&p);
        let back = e.to_profile();
        assert_eq!(Effective::of(&back), e);
        assert_eq!(back.syscalls[0].names, ["read", "write"]);
        assert_eq!(back.syscalls[0].action, Action::Allow);
    }

    #[test]
    fn the_first_unconditional_rule_wins_over_every_other() {
        let p = profile(vec![
            rule(&["read"], Action::Allow, None, vec![]),
            rule(&["read"], Action::Errno, None, vec![]),
            rule(
                &["personality"],
                Action::Allow,
                None,
                vec![cond(0, 8, ArgOp::Equal)],
            ),
            rule(&["personality"], Action::Errno, Some(13), vec![]),
            // Repeats the default: skipped, so the allow below counts.
            rule(&["write"], Action::Errno, Some(1), vec![]),
            rule(&["write"], Action::Allow, None, vec![]),
        ]);
        let e = Effective::of(&p);
        assert_eq!(
            e.rules
                .iter()
                .map(|(n, t)| (n.as_str(), t.describe(e.default)))
                .collect::<Vec<_>>(),
            [
                ("personality", "SCMP_ACT_ERRNO(EACCES)".to_string()),
                ("read", "SCMP_ACT_ALLOW".to_string()),
                ("write", "SCMP_ACT_ALLOW".to_string()),
            ]
        );
    }
}
