//! systemd unit drop-in lines (systemd.exec(5)): `SystemCallFilter=`,
//! `SystemCallErrorNumber=`, `SystemCallArchitectures=`, `SystemCallLog=`.
//!
//! A profile that denies by default becomes an allow list; one that allows
//! or logs by default becomes a deny list (`~name:ERRNO`). systemd cannot test
//! arguments: rules with conditions are left out (the syscall then gets the
//! default), with a warning and a comment in the output.

use std::collections::{BTreeMap, BTreeSet};

use super::Rendered;
use crate::errno::errno_name;
use crate::profile::effective::{Effective, Verdict};
use crate::profile::read::systemd_arch_name;
use crate::profile::{Action, Profile};

fn errno_text(errno: u32) -> String {
    errno_name(errno).map_or_else(|| errno.to_string(), String::from)
}

/// Writes `profile` as the `[Service]` section of a drop-in.
pub fn to_dropin(profile: &Profile) -> Rendered {
    let effective = Effective::of(profile);
    let default = effective.default;
    let mut warnings = Vec::new();
    let mut lines = vec![
        "# seccomp filter for a systemd unit: save as".to_string(),
        "# /etc/systemd/system/UNIT.service.d/seccomp.conf, then systemctl daemon-reload."
            .to_string(),
    ];
    let mut settings = vec!["[Service]".to_string()];

    let arch_names: Vec<&str> = effective
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
        .collect();
    if !arch_names.is_empty() {
        settings.push(format!("SystemCallArchitectures={}", arch_names.join(" ")));
    }

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
            let items: Vec<String> = names.iter().map(|n| format!("{n}{suffix}")).collect();
            settings.push(format!("SystemCallFilter=~{}", items.join(" ")));
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
        if allowed.is_empty() {
            warnings.push(
                "the profile allows no syscall; systemd would still allow its @default set".into(),
            );
        } else {
            settings.push(format!("SystemCallFilter={}", join(&allowed)));
        }
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
        lines.push(
            "# systemd also allows its @default set (execve, exit, brk, ...) in allow-list mode."
                .into(),
        );
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
    lines.extend(settings);
    let mut text = lines.join("\n");
    text.push('\n');
    Rendered { text, warnings }
}

fn join(names: &BTreeSet<&str>) -> String {
    names.iter().copied().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::profile::SyscallRule;
    use crate::profile::read::{Target, read_str};

    fn round_trip(p: &Profile) -> (Rendered, Profile) {
        let out = to_dropin(p);
        let back = read_str(&out.text, "p.conf", &Target::for_arch(Arch::X86_64))
            .unwrap()
            .single()
            .unwrap()
            .profile;
        (out, back)
    }

    #[test]
    fn allow_list_round_trips() {
        let p = Profile::allow_list(
            [Arch::X86_64, Arch::X86],
            ["read", "write", "exit_group"].map(String::from),
            38,
        );
        let (out, back) = round_trip(&p);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert!(out.text.contains("\nSystemCallArchitectures=x86 x86-64\nSystemCallErrorNumber=ENOSYS\nSystemCallFilter=exit_group read write\n"), "{}", out.text);
        assert_eq!(Effective::of(&back), Effective::of(&p));
    }

    #[test]
    fn deny_list_round_trips() {
        let p = Profile {
            default_action: Action::Allow,
            default_errno_ret: None,
            architectures: vec![Arch::X86_64],
            flags: vec![],
            listener_path: None,
            listener_metadata: None,
            syscalls: vec![
                SyscallRule {
                    names: vec!["mount".into(), "ptrace".into()],
                    action: Action::Errno,
                    errno_ret: Some(1),
                    args: vec![],
                },
                SyscallRule {
                    names: vec!["bpf".into()],
                    action: Action::KillProcess,
                    errno_ret: None,
                    args: vec![],
                },
                SyscallRule {
                    names: vec!["keyctl".into()],
                    action: Action::Log,
                    errno_ret: None,
                    args: vec![],
                },
            ],
        };
        let (out, back) = round_trip(&p);
        assert!(
            out.text
                .contains("SystemCallFilter=~mount:EPERM ptrace:EPERM\n"),
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
                SyscallRule {
                    names: vec!["futex".into()],
                    action: Action::Allow,
                    errno_ret: None,
                    args: vec![],
                },
                SyscallRule {
                    names: vec!["mount".into()],
                    action: Action::Errno,
                    errno_ret: None,
                    args: vec![],
                },
            ],
            ..Profile::allow_list([Arch::X86_64], Vec::<String>::new(), 1)
        };
        let (_, back) = round_trip(&p);
        assert_eq!(Effective::of(&back), Effective::of(&p));
    }

    #[test]
    fn conditions_are_left_out_with_warning() {
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 1);
        p.syscalls.push(SyscallRule {
            names: vec!["personality".into()],
            action: Action::Allow,
            errno_ret: None,
            args: vec![crate::profile::ArgCondition {
                index: 0,
                value: 8,
                value_two: 0,
                op: crate::profile::ArgOp::Equal,
            }],
        });
        let out = to_dropin(&p);
        assert_eq!(out.warnings.len(), 1);
        assert!(
            out.text
                .contains("# Left out (argument conditions): personality")
        );
    }
}
