//! Merging profiles: the union of what the inputs allow.
//!
//! A syscall one input allows and another only denies by default is allowed:
//! that is the point of merging the profiles of several test runs. So are
//! argument values: rules that allow a syscall only with some values (and
//! leave the rest to the default, as recorded profiles' do) are unioned,
//! and an input that allows the syscall outright absorbs them. A rule
//! that denies or restricts otherwise (another action, a condition whose
//! rule denies) is kept and never widened silently: when another input
//! allows the same syscall outright, the merge reports a [`Conflict`] and
//! [`Prefer`] decides which input wins. Restrictions of several inputs are
//! combined (their conditional rules added together). Architectures and
//! flags are unioned.
//!
//! ```
//! use recorder_profile::arch::Arch;
//! use recorder_profile::profile::Profile;
//! use recorder_profile::profile::merge::{merge, Prefer};
//! let a = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
//! let b = Profile::allow_list([Arch::X86_64], ["write".to_string()], 38);
//! let merged = merge(&[("a", &a), ("b", &b)], Prefer::Deny);
//! assert_eq!(merged.profile.allowed_names().len(), 2);
//! assert!(merged.conflicts.is_empty());
//! ```

use std::collections::{BTreeMap, BTreeSet};

use super::Profile;
use super::effective::{Effective, Treatment, Verdict};
use crate::choice::{Choice, by_name};

/// Which side wins when one input allows what another denies or restricts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prefer {
    /// Keep the denial or restriction (the safe choice).
    #[default]
    Deny,
    /// Take the allow.
    Allow,
}

impl Choice for Prefer {
    const ALL: &'static [Prefer] = &[Prefer::Deny, Prefer::Allow];

    fn name(self) -> &'static str {
        match self {
            Prefer::Deny => "deny",
            Prefer::Allow => "allow",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Prefer::Deny => "Keep the denial or restriction (the safe choice)",
            Prefer::Allow => "Take the allow",
        }
    }
}

by_name!(Prefer);

/// Inputs that disagree about a syscall (or the default action).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The syscall, or `None` for the default action.
    pub name: Option<String>,
    /// Each input's label and what it does.
    pub sides: Vec<(String, String)>,
    /// The label of the input whose treatment was kept.
    pub winner: String,
    /// What the merged profile does.
    pub result: String,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = self.name.as_deref().unwrap_or("default action");
        let sides: Vec<String> = self
            .sides
            .iter()
            .map(|(label, t)| format!("{label}: {t}"))
            .collect();
        write!(
            f,
            "{what}: {}; kept {} ({})",
            sides.join(", "),
            self.winner,
            self.result
        )
    }
}

/// The merged profile and what was decided on the way.
#[derive(Clone, Debug)]
pub struct Merged {
    pub profile: Profile,
    pub conflicts: Vec<Conflict>,
}

/// Merges labelled profiles (the label names the input in conflicts).
pub fn merge(inputs: &[(&str, &Profile)], prefer: Prefer) -> Merged {
    let effective: Vec<(&str, Effective)> = inputs
        .iter()
        .map(|(label, p)| (*label, Effective::of(p)))
        .collect();
    let mut conflicts = Vec::new();
    if effective.is_empty() {
        return Merged {
            profile: Profile::allow_list([], Vec::<String>::new(), 1),
            conflicts,
        };
    }
    let default = merge_default(&effective, prefer, &mut conflicts);
    let names: BTreeSet<&str> = effective
        .iter()
        .flat_map(|(_, e)| e.rules.keys().map(String::as_str))
        .collect();
    let mut rules = BTreeMap::new();
    for name in names {
        let treatment = merge_name(name, &effective, default, prefer, &mut conflicts);
        if let Some(t) = treatment {
            rules.insert(name.to_string(), t);
        }
    }
    let merged = Effective {
        default,
        architectures: effective
            .iter()
            .flat_map(|(_, e)| e.architectures.iter().copied())
            .collect(),
        flags: effective
            .iter()
            .filter_map(|(_, e)| e.flags.clone())
            .reduce(|a, b| a.union(&b).cloned().collect()),
        listener_path: effective.iter().find_map(|(_, e)| e.listener_path.clone()),
        listener_metadata: effective
            .iter()
            .find_map(|(_, e)| e.listener_metadata.clone()),
        rules,
    };
    // Normalise against the chosen default.
    let profile = Effective::of(&merged.to_profile()).to_profile();
    Merged { profile, conflicts }
}

fn pick(verdicts: impl Iterator<Item = Verdict>, prefer: Prefer) -> Option<Verdict> {
    match prefer {
        // Ties keep the first input's.
        Prefer::Deny => verdicts.reduce(|a, b| {
            if b.permissiveness() < a.permissiveness() {
                b
            } else {
                a
            }
        }),
        Prefer::Allow => verdicts.reduce(|a, b| {
            if b.permissiveness() > a.permissiveness() {
                b
            } else {
                a
            }
        }),
    }
}

fn merge_default(
    effective: &[(&str, Effective)],
    prefer: Prefer,
    conflicts: &mut Vec<Conflict>,
) -> Verdict {
    let defaults: Vec<Verdict> = effective.iter().map(|(_, e)| e.default).collect();
    let chosen = pick(defaults.iter().copied(), prefer).unwrap_or(Verdict::ALLOW);
    if defaults.iter().any(|d| *d != chosen) {
        let winner = effective
            .iter()
            .find(|(_, e)| e.default == chosen)
            .map_or("", |(l, _)| *l);
        conflicts.push(Conflict {
            name: None,
            sides: effective
                .iter()
                .map(|(l, e)| (l.to_string(), e.default.to_string()))
                .collect(),
            winner: winner.to_string(),
            result: chosen.to_string(),
        });
    }
    chosen
}

/// One input's say about a syscall.
struct Say<'a> {
    label: &'a str,
    treatment: Treatment,
    /// The input's default, which an absent unconditional rule means.
    default: Verdict,
    /// The input has rules for the name (not only its default).
    explicit: bool,
}

impl Say<'_> {
    fn allows_all(&self) -> bool {
        self.treatment.always_runs(self.default) && self.treatment.conditional.is_empty()
    }

    /// Allows some argument values and leaves the others to a default that
    /// denies them: an allow-list of values, which unions like names.
    fn allows_values(&self) -> bool {
        self.explicit
            && self.treatment.unconditional.is_none()
            && !self.default.action.lets_run()
            && !self.treatment.conditional.is_empty()
            && self
                .treatment
                .conditional
                .iter()
                .all(|c| c.verdict.action.lets_run())
    }

    /// The treatment with the input's default made explicit.
    fn absolute(&self) -> Treatment {
        Treatment {
            unconditional: Some(self.treatment.fallback(self.default)),
            conditional: self.treatment.conditional.clone(),
        }
    }
}

fn merge_name(
    name: &str,
    effective: &[(&str, Effective)],
    default: Verdict,
    prefer: Prefer,
    conflicts: &mut Vec<Conflict>,
) -> Option<Treatment> {
    let says: Vec<Say> = effective
        .iter()
        .map(|(label, e)| Say {
            label,
            treatment: e.treatment(name),
            default: e.default,
            explicit: e.rules.contains_key(name),
        })
        .collect();
    let allowers: Vec<&Say> = says.iter().filter(|s| s.allows_all()).collect();
    // Allowed outright by some input: allow (without logging when one input
    // allows it silently).
    let allowed_outright = || {
        let verdict = pick(
            allowers.iter().map(|s| s.treatment.fallback(s.default)),
            Prefer::Allow,
        )?;
        Some(Treatment {
            unconditional: Some(verdict),
            conditional: Default::default(),
        })
    };
    let value_lists: Vec<&Say> = says.iter().filter(|s| s.allows_values()).collect();
    let others: Vec<&Say> = says
        .iter()
        .filter(|s| s.explicit && !s.allows_all() && !s.allows_values())
        .collect();
    if others.is_empty() && !value_lists.is_empty() {
        if allowers.is_empty() {
            // Only values: the union of the values, over the merged default.
            let mut union = Treatment::default();
            for s in &value_lists {
                union
                    .conditional
                    .extend(s.treatment.conditional.iter().cloned());
            }
            return Some(union);
        }
        // Allowed outright somewhere: that covers every value.
        return allowed_outright();
    }
    let restrictors: Vec<&Say> = says
        .iter()
        .filter(|s| s.explicit && !s.allows_all())
        .collect();
    if restrictors.is_empty() {
        return allowed_outright();
    }
    let explicit_allowers: Vec<&Say> = allowers.iter().copied().filter(|s| s.explicit).collect();
    let (restriction, restriction_label, restriction_conflict) = combine(&restrictors, prefer);
    let describe = |s: &Say| s.treatment.describe(s.default);
    if explicit_allowers.is_empty() {
        if restriction_conflict {
            conflicts.push(Conflict {
                name: Some(name.to_string()),
                sides: restrictors
                    .iter()
                    .map(|s| (s.label.to_string(), describe(s)))
                    .collect(),
                winner: restriction_label.to_string(),
                result: restriction.describe(default),
            });
        }
        return Some(restriction);
    }
    let sides: Vec<(String, String)> = explicit_allowers
        .iter()
        .chain(&restrictors)
        .map(|s| (s.label.to_string(), describe(s)))
        .collect();
    let (kept, winner) = match prefer {
        Prefer::Deny => (restriction, restriction_label),
        Prefer::Allow => {
            let verdict = pick(
                explicit_allowers
                    .iter()
                    .map(|s| s.treatment.fallback(s.default)),
                Prefer::Allow,
            )
            .unwrap_or(Verdict::ALLOW);
            (
                Treatment {
                    unconditional: Some(verdict),
                    conditional: Default::default(),
                },
                explicit_allowers[0].label,
            )
        }
    };
    conflicts.push(Conflict {
        name: Some(name.to_string()),
        sides,
        winner: winner.to_string(),
        result: kept.describe(default),
    });
    Some(kept)
}

/// Combines the restrictions of several inputs: identical ones are one;
/// conditional rules over the same fallback are added together (any of them
/// lets the call through); otherwise `prefer` picks one. Returns the
/// treatment, the label of the input it came from, and whether the inputs
/// disagreed.
fn combine<'a>(restrictors: &[&Say<'a>], prefer: Prefer) -> (Treatment, &'a str, bool) {
    let first = restrictors[0];
    let absolutes: Vec<Treatment> = restrictors.iter().map(|s| s.absolute()).collect();
    if absolutes.iter().all(|t| *t == absolutes[0]) {
        return (absolutes[0].clone(), first.label, false);
    }
    let fallbacks: BTreeSet<Option<Verdict>> = absolutes.iter().map(|t| t.unconditional).collect();
    if fallbacks.len() == 1 {
        let mut union = absolutes[0].clone();
        for t in &absolutes[1..] {
            union.conditional.extend(t.conditional.iter().cloned());
        }
        return (union, first.label, false);
    }
    // Disagreeing restrictions: the most (or least) restrictive fallback.
    let chosen = pick(absolutes.iter().filter_map(|t| t.unconditional), prefer);
    let index = absolutes
        .iter()
        .position(|t| t.unconditional == chosen)
        .unwrap_or(0);
    (absolutes[index].clone(), restrictors[index].label, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::profile::{Action, ArgCondition, ArgOp, SyscallRule};

    fn allow_list(names: &[&str]) -> Profile {
        Profile::allow_list([Arch::X86_64], names.iter().map(|s| s.to_string()), 38)
    }

    fn with_rule(
        mut p: Profile,
        names: &[&str],
        action: Action,
        args: Vec<ArgCondition>,
    ) -> Profile {
        p.syscalls.push(SyscallRule {
            names: names.iter().map(|s| s.to_string()).collect(),
            action,
            errno_ret: None,
            args,
            unknown_fields: Default::default(),
        });
        p
    }

    #[test]
    fn allow_lists_union() {
        let a = allow_list(&["read", "write"]);
        let mut b = allow_list(&["openat", "read"]);
        b.architectures.push(Arch::X86);
        let m = merge(&[("a", &a), ("b", &b)], Prefer::Deny);
        assert!(m.conflicts.is_empty());
        let expected = Profile::allow_list(
            [Arch::X86_64, Arch::X86],
            ["openat", "read", "write"].map(String::from),
            38,
        );
        assert_eq!(m.profile, expected);
    }

    #[test]
    fn explicit_deny_is_kept_and_reported() {
        let a = allow_list(&["read", "mkdir"]);
        let b = with_rule(
            allow_list(&["read"]),
            &["mkdir"],
            Action::KillProcess,
            vec![],
        );
        let m = merge(&[("a", &a), ("b", &b)], Prefer::Deny);
        let e = Effective::of(&m.profile);
        assert_eq!(
            e.rules["mkdir"].unconditional.unwrap().action,
            Action::KillProcess
        );
        assert_eq!(m.conflicts.len(), 1);
        assert_eq!(
            m.conflicts[0].to_string(),
            "mkdir: a: SCMP_ACT_ALLOW, b: SCMP_ACT_KILL_PROCESS; kept b (SCMP_ACT_KILL_PROCESS)"
        );
        let m = merge(&[("a", &a), ("b", &b)], Prefer::Allow);
        assert!(m.profile.allowed_names().contains("mkdir"));
        assert_eq!(m.conflicts[0].winner, "a");
    }

    #[test]
    fn deny_rule_survives_default_allow_of_other_input() {
        let mut a = with_rule(allow_list(&[]), &["ptrace"], Action::Errno, vec![]);
        a.default_action = Action::Allow;
        a.default_errno_ret = None;
        let mut b = a.clone();
        b.syscalls.clear();
        let m = merge(&[("a", &a), ("b", &b)], Prefer::Deny);
        assert!(m.conflicts.is_empty());
        assert_eq!(
            Effective::of(&m.profile).rules["ptrace"]
                .unconditional
                .unwrap()
                .action,
            Action::Errno
        );
    }

    #[test]
    fn conditions_are_added_together() {
        let cond = |v| {
            vec![ArgCondition {
                index: 0,
                value: v,
                value_two: 0,
                op: ArgOp::Equal,
            }]
        };
        let a = with_rule(
            allow_list(&["read"]),
            &["personality"],
            Action::Allow,
            cond(0),
        );
        let b = with_rule(
            allow_list(&["read"]),
            &["personality"],
            Action::Allow,
            cond(8),
        );
        let m = merge(&[("a", &a), ("b", &b)], Prefer::Deny);
        assert!(m.conflicts.is_empty());
        assert_eq!(
            Effective::of(&m.profile).rules["personality"]
                .conditional
                .len(),
            2
        );
        // An outright allow absorbs the values, without a conflict.
        let c = allow_list(&["personality"]);
        let m = merge(&[("a", &a), ("b", &b), ("c", &c)], Prefer::Deny);
        assert!(m.conflicts.is_empty());
        assert!(m.profile.allowed_names().contains("personality"));
        assert!(
            Effective::of(&m.profile).rules["personality"]
                .conditional
                .is_empty()
        );
    }

    #[test]
    fn a_deny_with_conditions_is_still_a_restriction() {
        let mut a = allow_list(&["read"]);
        a.default_action = Action::Allow;
        a.default_errno_ret = None;
        let a = with_rule(
            a,
            &["personality"],
            Action::Errno,
            vec![ArgCondition {
                index: 0,
                value: 8,
                value_two: 0,
                op: ArgOp::Equal,
            }],
        );
        let b = allow_list(&["personality"]);
        let m = merge(&[("a", &a), ("b", &b)], Prefer::Deny);
        let on_personality: Vec<&Conflict> = m
            .conflicts
            .iter()
            .filter(|c| c.name.as_deref() == Some("personality"))
            .collect();
        assert_eq!(on_personality.len(), 1, "{:?}", m.conflicts);
        assert_eq!(on_personality[0].winner, "a");
    }

    /// Recorded profiles with values (`--args`), one run of which used so
    /// many that it has no condition: the merge allows what each allowed.
    #[test]
    fn recorded_values_union() {
        let cond = |index, v| ArgCondition {
            index,
            value: v,
            value_two: 0,
            op: ArgOp::Equal,
        };
        let a = with_rule(
            with_rule(
                allow_list(&["read"]),
                &["ioctl"],
                Action::Allow,
                vec![cond(1, 0x5401)],
            ),
            &["prctl"],
            Action::Allow,
            vec![cond(0, 15)],
        );
        let b = with_rule(
            with_rule(
                allow_list(&["read", "prctl"]),
                &["ioctl"],
                Action::Allow,
                vec![cond(1, 0x541b)],
            ),
            &["ioctl"],
            Action::Allow,
            vec![cond(1, 0x5401)],
        );
        let m = merge(&[("a", &a), ("b", &b)], Prefer::Deny);
        assert!(m.conflicts.is_empty());
        let e = Effective::of(&m.profile);
        let values = |name: &str| -> Vec<u64> {
            e.rules[name]
                .conditional
                .iter()
                .map(|c| c.conditions[0].value)
                .collect()
        };
        assert_eq!(values("ioctl"), [0x5401, 0x541b]);
        assert!(m.profile.allowed_names().contains("prctl"));
        assert!(e.rules["prctl"].conditional.is_empty());
    }

    #[test]
    fn different_defaults_are_reported() {
        let a = allow_list(&["read"]);
        let mut b = allow_list(&["read"]);
        b.default_errno_ret = Some(1);
        let m = merge(&[("a", &a), ("b", &b)], Prefer::Deny);
        assert_eq!(m.conflicts.len(), 1);
        assert_eq!(m.conflicts[0].name, None);
        assert_eq!(m.profile.default_errno_ret, Some(38));
    }
}
