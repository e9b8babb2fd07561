//! systemd unit drop-in lines (systemd.exec(5)): `SystemCallFilter=`,
//! `SystemCallErrorNumber=`, `SystemCallArchitectures=`, `SystemCallLog=`.
//!
//! A profile that denies by default becomes an allow list; one that allows
//! or logs by default becomes a deny list (`~name:ERRNO`). Names are written
//! as systemd's groups (`@file-system`) where every systemd release known
//! here ([`SyscallGroups::every_known`]) puts only names the profile gives the
//! same treatment in the group, and the names a release may leave out of it
//! are listed too: the unit means the same to each of them. systemd cannot
//! test arguments: rules with conditions are left out (the syscall then gets
//! the default), with a warning and a comment in the output. An allow list
//! also allows systemd's `@default` group; the warning names what of it the
//! profile denied.

use std::collections::{BTreeMap, BTreeSet};

use super::Rendered;
use crate::profile::effective::{Effective, Verdict};
use crate::profile::read::systemd_arch_name;
use crate::profile::syscall_names;
use crate::profile::systemd_groups::SyscallGroups;
use crate::profile::{Action, Profile};

fn errno_text(errno: u32) -> String {
    crate::errno::errno_name(errno).map_or_else(|| errno.to_string(), String::from)
}

/// Writes `profile` as the `[Service]` section of a drop-in, with the
/// groups of every systemd known here.
pub fn to_dropin(profile: &Profile) -> Rendered {
    to_dropin_with(profile, &SyscallGroups::every_known())
}

/// Writes `profile` as the `[Service]` section of a drop-in; a group is
/// written only where all of `releases` agree on it.
pub fn to_dropin_with(profile: &Profile, releases: &[&SyscallGroups]) -> Rendered {
    let effective = Effective::of(profile);
    let default = effective.default;
    let mut warnings = Vec::new();
    let mut lines = vec![
        "# seccomp filter for a systemd unit: save as".to_string(),
        "# /etc/systemd/system/UNIT.service.d/seccomp.conf, then systemctl daemon-reload."
            .to_string(),
    ];
    let mut settings = vec!["[Service]".to_string()];

    let arch_names: Vec<&str> = if effective.architectures.is_empty() {
        // An OCI profile without architectures covers the native ABI only.
        vec!["native"]
    } else {
        effective
            .architectures
            .iter()
            .filter_map(|&a| {
                let name = systemd_arch_name(a);
                if name.is_none() {
                    warnings.push(format!(
                        "systemd has no name for architecture {a}; left out"
                    ));
                }
                name
            })
            .collect()
    };
    settings.push(format!("SystemCallArchitectures={}", arch_names.join(" ")));

    let mut unconditional: BTreeMap<Verdict, BTreeSet<&str>> = BTreeMap::new();
    let mut left_out = Vec::new();
    for (name, treatment) in &effective.rules {
        if !treatment.conditional.is_empty() {
            left_out.push(name.as_str());
        }
        if let Some(v) = treatment.unconditional {
            unconditional.entry(v).or_default().insert(name);
        }
    }
    let names_with = |pred: &dyn Fn(Verdict) -> bool| -> BTreeSet<&str> {
        unconditional
            .iter()
            .filter(|(v, _)| pred(**v))
            .flat_map(|(_, n)| n.iter().copied())
            .collect()
    };
    let mut used_groups = false;
    let mut list = |names: &BTreeSet<&str>, within: &BTreeSet<&str>, suffix: &str| -> String {
        let (groups, rest) = cover(names, within, releases);
        used_groups |= !groups.is_empty();
        groups
            .iter()
            .map(String::as_str)
            .chain(rest)
            .map(|item| format!("{item}{suffix}"))
            .collect::<Vec<_>>()
            .join(" ")
    };

    if default.action.lets_run() {
        // Deny list: each denied name with its errno, or killed.
        for (verdict, names) in &unconditional {
            let suffix = match verdict.action {
                Action::Errno => format!(":{}", errno_text(verdict.errno.unwrap_or(1))),
                Action::KillProcess => String::new(),
                Action::KillThread | Action::Trap => {
                    warnings.push(format!(
                        "systemd kills the process for {}: it has no {}",
                        join(names),
                        verdict.action.scmp_name()
                    ));
                    String::new()
                }
                Action::Trace | Action::Notify => {
                    warnings.push(format!(
                        "systemd has no {}: {} left out",
                        verdict.action.scmp_name(),
                        join(names)
                    ));
                    continue;
                }
                Action::Allow | Action::Log => continue,
            };
            settings.push(format!("SystemCallFilter=~{}", list(names, names, &suffix)));
        }
        if default.action == Action::Log {
            let allowed = names_with(&|v| v.action == Action::Allow);
            settings.push(format!("SystemCallLog=~{}", join(&allowed)));
        } else {
            let logged = names_with(&|v| v.action == Action::Log);
            if !logged.is_empty() {
                settings.push(format!("SystemCallLog={}", join(&logged)));
            }
        }
    } else {
        // Allow list: everything else gets the default.
        match default.action {
            Action::Errno => settings.push(format!(
                "SystemCallErrorNumber={}",
                errno_text(default.errno.unwrap_or(1))
            )),
            Action::KillProcess => {}
            other => warnings.push(format!(
                "systemd kills the process for denied syscalls: it has no default {}",
                other.scmp_name()
            )),
        }
        let allowed = names_with(&|v| v.action.lets_run());
        // systemd adds @default to every allow list.
        let always = implied_default(releases);
        let listed: BTreeSet<&str> = allowed
            .iter()
            .copied()
            .filter(|n| !always.every.contains(*n))
            .collect();
        let extra: Vec<&str> = always
            .any
            .iter()
            .map(String::as_str)
            .filter(|n| !allowed.contains(n))
            .collect();
        if !extra.is_empty() {
            warnings.push(format!(
                "systemd always allows its @default group in an allow list: the unit also allows {} syscalls the profile denies: {}",
                extra.len(),
                extra.join(" ")
            ));
        }
        let items = list(&listed, &allowed, "");
        // An empty assignment would reset the filter: name what is implied.
        let items = if items.is_empty() {
            "@default".to_string()
        } else {
            items
        };
        settings.push(format!("SystemCallFilter={items}"));
        let logged = names_with(&|v| v.action == Action::Log);
        if !logged.is_empty() {
            settings.push(format!("SystemCallLog={}", join(&logged)));
        }
        let other_denials = names_with(&|v| !v.action.lets_run());
        if !other_denials.is_empty() {
            warnings.push(format!(
                "systemd gives every denied syscall the same result: {} get the default instead of their own",
                join(&other_denials)
            ));
        }
        lines.push("# systemd also allows its @default group (execve, exit, brk, ...).".into());
    }
    if used_groups {
        let versions: BTreeSet<u32> = releases.iter().map(|r| r.version).collect();
        let versions: Vec<String> = versions.iter().map(u32::to_string).collect();
        lines.push(format!(
            "# Groups mean the same names in systemd {}.",
            versions.join(", ")
        ));
    }
    if !left_out.is_empty() {
        warnings.push(format!(
            "systemd cannot test syscall arguments: the conditional rules of {} are left out",
            left_out.join(", ")
        ));
        lines.push(format!(
            "# Left out (argument conditions): {}",
            left_out.join(" ")
        ));
    }
    let unknown: BTreeSet<&str> = profile
        .unknown_fields
        .keys()
        .chain(
            profile
                .syscalls
                .iter()
                .flat_map(|r| r.unknown_fields.keys()),
        )
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        warnings.push(format!(
            "systemd units have no place for unknown fields: left out {}",
            join(&unknown)
        ));
    }
    if profile.listener_path.is_some() || profile.flags.as_ref().is_some_and(|f| !f.is_empty()) {
        warnings.push("systemd has no seccomp flags or listenerPath: left out".to_string());
    }
    lines.extend(settings);
    let mut text = lines.join("\n");
    text.push('\n');
    Rendered { text, warnings }
}

/// systemd's `@default`: the names every release has in it, and those some
/// release has.
struct Implied {
    every: BTreeSet<String>,
    any: BTreeSet<String>,
}

fn implied_default(releases: &[&SyscallGroups]) -> Implied {
    let sets: Vec<BTreeSet<String>> = releases
        .iter()
        .filter_map(|r| r.expand("@default"))
        .map(|s| {
            s.into_iter()
                .filter(|n| syscall_names::is_known(n))
                .collect()
        })
        .collect();
    Implied {
        every: sets
            .iter()
            .skip(1)
            .fold(sets.first().cloned().unwrap_or_default(), |a, b| {
                a.intersection(b).cloned().collect()
            }),
        any: sets.into_iter().flatten().collect(),
    }
}

/// Writes `names` with groups: a group is used when, in every release, all
/// of its (known) members are in `within` (which holds `names`, and what the
/// unit gets anyway) and it covers at least two of `names` not covered yet;
/// it covers the names every release puts in it. Returns the groups and the
/// names left to list.
fn cover<'a>(
    names: &BTreeSet<&'a str>,
    within: &BTreeSet<&str>,
    releases: &[&SyscallGroups],
) -> (Vec<String>, Vec<&'a str>) {
    let Some(first) = releases.first() else {
        return (Vec::new(), names.iter().copied().collect());
    };
    let mut candidates: Vec<(String, BTreeSet<String>)> = first
        .group_names()
        .filter(|g| *g != "@default" && releases.iter().all(|r| r.has(g)))
        .filter_map(|g| {
            let per_release: Vec<BTreeSet<String>> = releases
                .iter()
                .map(|r| {
                    r.expand(g)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|n| syscall_names::is_known(n))
                        .collect()
                })
                .collect();
            let all_in = per_release
                .iter()
                .all(|set| set.iter().all(|n| within.contains(n.as_str())));
            let every: BTreeSet<String> = per_release
                .iter()
                .skip(1)
                .fold(per_release[0].clone(), |a, b| {
                    a.intersection(b).cloned().collect()
                });
            (all_in && !every.is_empty()).then(|| (g.to_string(), every))
        })
        .collect();
    // Largest first; ties by name, so that the output is stable.
    candidates.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    let mut covered: BTreeSet<String> = BTreeSet::new();
    let mut groups = Vec::new();
    for (group, members) in candidates {
        let new = members
            .iter()
            .filter(|m| names.contains(m.as_str()) && !covered.contains(*m))
            .count();
        if new >= 2 {
            covered.extend(members);
            groups.push(group);
        }
    }
    groups.sort();
    let rest = names
        .iter()
        .copied()
        .filter(|n| !covered.contains(*n))
        .collect();
    (groups, rest)
}

fn join(names: &BTreeSet<&str>) -> String {
    names.iter().copied().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::profile::read::{Target, read_str};
    use crate::profile::systemd_groups::SystemdChoice;
    use crate::profile::{ArgCondition, ArgOp, SyscallRule};

    fn v(version: u32) -> &'static SyscallGroups {
        SyscallGroups::shipped_version(version).unwrap()
    }

    /// Writes with the groups of `releases` and reads back with the first.
    fn round_trip(p: &Profile, releases: &[&SyscallGroups]) -> (Rendered, Profile) {
        let out = to_dropin_with(p, releases);
        let target = Target {
            systemd: SystemdChoice::Version(releases[0].version),
            ..Target::for_arch(Arch::X86_64)
        };
        let back = read_str(&out.text, "p.conf", &target)
            .unwrap()
            .single()
            .unwrap()
            .profile;
        (out, back)
    }

    fn rule(names: &[&str], action: Action, errno: Option<u32>) -> SyscallRule {
        SyscallRule {
            errno_ret: errno,
            ..SyscallRule::new(names.iter().map(|n| n.to_string()), action)
        }
    }

    #[test]
    fn allow_list_round_trips_with_default_added() {
        let p = Profile::allow_list(
            [Arch::X86_64, Arch::X86],
            ["read", "write", "exit_group"].map(String::from),
            38,
        );
        let (out, back) = round_trip(&p, &[v(252)]);
        assert_eq!(
            out.text,
            "# seccomp filter for a systemd unit: save as\n\
             # /etc/systemd/system/UNIT.service.d/seccomp.conf, then systemctl daemon-reload.\n\
             # systemd also allows its @default group (execve, exit, brk, ...).\n\
             [Service]\n\
             SystemCallArchitectures=x86 x86-64\n\
             SystemCallErrorNumber=ENOSYS\n\
             SystemCallFilter=read write\n"
        );
        let default = v(252).expand("@default").unwrap();
        assert_eq!(out.warnings.len(), 1);
        assert!(
            out.warnings[0].starts_with(&format!(
                "systemd always allows its @default group in an allow list: the unit also allows {} syscalls the profile denies: arch_prctl brk ",
                default.len() - 1
            )),
            "{:?}",
            out.warnings
        );
        let mut expected: BTreeSet<String> = default;
        expected.extend(["read", "write"].map(String::from));
        let allowed: BTreeSet<String> =
            back.allowed_names().into_iter().map(String::from).collect();
        assert_eq!(allowed, expected);
        assert_eq!(back.default_errno_ret, Some(38));
        assert_eq!(back.architectures, [Arch::X86, Arch::X86_64]);
    }

    #[test]
    fn groups_are_used_where_every_release_agrees() {
        // Everything systemd 252's @system-service holds, plus mount.
        let mut names = v(252).expand("@system-service").unwrap();
        names.insert("mount".into());
        let p = Profile::allow_list([Arch::X86_64], names.clone(), 1);
        let (out, back) = round_trip(&p, &[v(252)]);
        let filter = out
            .text
            .lines()
            .find(|l| l.starts_with("SystemCallFilter="))
            .unwrap();
        assert_eq!(filter, "SystemCallFilter=@system-service mount");
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        let allowed: BTreeSet<String> =
            back.allowed_names().into_iter().map(String::from).collect();
        assert_eq!(allowed, names);
        assert!(
            out.text
                .contains("\n# Groups mean the same names in systemd 252.\n")
        );

        // 254 and 257 put more into @system-service (@sandbox, mseal, ...):
        // the group would allow them there, so it is not used; the
        // smaller groups every release agrees on are, and the unit means
        // the same names to each.
        let all = [v(252), v(254), v(257)];
        let (out, _) = round_trip(&p, &all);
        let filter = out
            .text
            .lines()
            .find(|l| l.starts_with("SystemCallFilter="))
            .unwrap();
        assert!(!filter.contains("@system-service"), "{filter}");
        assert!(
            filter.contains("@basic-io") && filter.contains("@chown"),
            "{filter}"
        );
        for release in all {
            let target = Target {
                systemd: SystemdChoice::Version(release.version),
                ..Target::for_arch(Arch::X86_64)
            };
            let back = read_str(&out.text, "p.conf", &target)
                .unwrap()
                .single()
                .unwrap()
                .profile;
            let allowed: BTreeSet<String> =
                back.allowed_names().into_iter().map(String::from).collect();
            let mut expected = names.clone();
            expected.extend(release.expand("@default").unwrap());
            assert_eq!(allowed, expected, "systemd {}", release.version);
        }
    }

    #[test]
    fn deny_list_round_trips() {
        let p = Profile {
            default_action: Action::Allow,
            default_errno_ret: None,
            architectures: vec![Arch::X86_64],
            flags: None,
            listener_path: None,
            listener_metadata: None,
            syscalls: vec![
                rule(&["mount", "ptrace"], Action::Errno, Some(1)),
                rule(&["bpf"], Action::KillProcess, None),
                rule(&["keyctl"], Action::Log, None),
                rule(&["swapon", "swapoff"], Action::Errno, Some(13)),
            ],
            unknown_fields: Default::default(),
        };
        let (out, back) = round_trip(&p, &[v(252), v(257)]);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert!(
            out.text.contains(
                "\nSystemCallArchitectures=x86-64\n\
                 SystemCallFilter=~bpf\n\
                 SystemCallFilter=~mount:EPERM ptrace:EPERM\n\
                 SystemCallFilter=~@swap:EACCES\n\
                 SystemCallLog=keyctl\n"
            ),
            "{}",
            out.text
        );
        assert_eq!(Effective::of(&back), Effective::of(&p));
    }

    #[test]
    fn log_default_round_trips() {
        let p = Profile {
            default_action: Action::Log,
            syscalls: vec![
                rule(&["futex"], Action::Allow, None),
                rule(&["mount"], Action::Errno, None),
            ],
            ..Profile::allow_list([Arch::X86_64], Vec::<String>::new(), 1)
        };
        let (_, back) = round_trip(&p, &[v(252)]);
        assert_eq!(Effective::of(&back), Effective::of(&p));
    }

    #[test]
    fn native_only_profiles_say_native() {
        let p = Profile {
            default_action: Action::Allow,
            architectures: vec![],
            syscalls: vec![rule(&["mount"], Action::Errno, None)],
            ..Profile::allow_list([], Vec::<String>::new(), 1)
        };
        let (out, back) = round_trip(&p, &[v(252)]);
        assert!(
            out.text.contains("\nSystemCallArchitectures=native\n"),
            "{}",
            out.text
        );
        assert_eq!(back.architectures, [Arch::X86_64]);
    }

    #[test]
    fn what_systemd_cannot_say_is_left_out_with_warnings() {
        let mut p = Profile::allow_list([Arch::X86_64], v(252).expand("@default").unwrap(), 1);
        p.syscalls.push(SyscallRule {
            args: vec![ArgCondition {
                index: 0,
                value: 8,
                value_two: 0,
                op: ArgOp::Equal,
            }],
            ..SyscallRule::new(["personality".into()], Action::Allow)
        });
        p.flags = Some(vec!["SECCOMP_FILTER_FLAG_LOG".into()]);
        p.unknown_fields
            .insert("x-owner".into(), serde_json::json!("me"));
        let out = to_dropin_with(&p, &[v(252)]);
        assert_eq!(
            out.warnings,
            [
                "systemd cannot test syscall arguments: the conditional rules of personality are left out",
                "systemd units have no place for unknown fields: left out x-owner",
                "systemd has no seccomp flags or listenerPath: left out",
            ]
        );
        assert!(
            out.text
                .contains("# Left out (argument conditions): personality")
        );
    }
}
