//! systemd unit settings: `SystemCallFilter=`, `SystemCallErrorNumber=`,
//! `SystemCallArchitectures=` and `SystemCallLog=`, as systemd.exec(5)
//! defines them (a drop-in or a whole unit; other settings are ignored).
//!
//! The first `SystemCallFilter=` decides the mode: a list allows the names
//! and denies the rest, `~list` denies the names and allows the rest. Later
//! lines add to the list, or with the other mode remove from it; an empty
//! assignment resets it. `name:ERRNO` gives one name its own errno.

use std::collections::{BTreeMap, BTreeSet};

use super::{Document, InputFormat, Location, ReadError, ReadWarning};
use crate::arch::Arch;
use crate::errno::parse_errno;
use crate::profile::{Action, Profile, SyscallRule};

const KEYS: [&str; 4] = [
    "SystemCallFilter=",
    "SystemCallErrorNumber=",
    "SystemCallArchitectures=",
    "SystemCallLog=",
];

/// Whether `text` has systemd syscall settings.
pub(super) fn looks_like(text: &str) -> bool {
    text.lines()
        .any(|l| KEYS.iter().any(|k| l.trim_start().starts_with(k)))
}

/// systemd's name of an architecture, or `None` when systemd has none.
pub fn systemd_arch_name(arch: Arch) -> Option<&'static str> {
    Some(match arch {
        Arch::X86 => "x86",
        Arch::X86_64 => "x86-64",
        Arch::X32 => "x32",
        Arch::Arm => "arm",
        Arch::Aarch64 => "arm64",
        Arch::Loongarch64 => "loongarch64",
        Arch::Mips => "mips",
        Arch::Mipsel => "mips-le",
        Arch::Mips64 => "mips64",
        Arch::Mipsel64 => "mips64-le",
        Arch::Mips64n32 => "mips64-n32",
        Arch::Mipsel64n32 => "mips64-le-n32",
        Arch::Parisc => "parisc",
        Arch::Parisc64 => "parisc64",
        Arch::Ppc => "ppc",
        Arch::Ppc64 => "ppc64",
        Arch::Ppc64le => "ppc64-le",
        Arch::Riscv64 => "riscv64",
        Arch::S390 => "s390",
        Arch::S390x => "s390x",
        Arch::M68k | Arch::Sh | Arch::Sheb => return None,
    })
}

/// What a denied syscall gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Denial {
    Kill,
    Errno(u32),
}

fn parse_denial(value: &str) -> Result<Denial, String> {
    if value.eq_ignore_ascii_case("kill") {
        Ok(Denial::Kill)
    } else {
        parse_errno(value).map(Denial::Errno)
    }
}

#[derive(Default)]
struct Settings {
    /// `Some(true)`: allow list; `Some(false)`: deny list.
    allow_mode: Option<bool>,
    /// Names and their own errno (deny list) or `None`.
    filter: BTreeMap<String, Option<Denial>>,
    error_number: Option<Denial>,
    arches: BTreeSet<Arch>,
    /// `Some(true)`: log the names; `Some(false)`: log all but the names.
    log_listed: Option<bool>,
    log: BTreeSet<String>,
}

/// Reads the syscall settings of a unit file into a profile.
pub(super) fn read(
    text: &str,
    path: &str,
    warnings: &mut Vec<ReadWarning>,
) -> Result<Document, ReadError> {
    let mut s = Settings::default();
    for (line_no, line) in logical_lines(text) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        let value = value.trim();
        let at = |column: usize| Location {
            line: line_no,
            column,
        };
        let err = |message: String| ReadError::At {
            path: path.to_string(),
            location: at(1),
            message,
        };
        match key {
            "SystemCallFilter" => {
                if value.is_empty() {
                    s.allow_mode = None;
                    s.filter.clear();
                    continue;
                }
                let (inverted, list) = match value.strip_prefix('~') {
                    Some(rest) => (true, rest),
                    None => (false, value),
                };
                let mode = *s.allow_mode.get_or_insert(!inverted);
                for item in list.split_whitespace() {
                    let (name, denial) = match item.split_once(':') {
                        Some((name, d)) => (name, Some(parse_denial(d).map_err(err)?)),
                        None => (item, None),
                    };
                    if let Some(group) = name.strip_prefix('@') {
                        warnings.push(ReadWarning {
                            path: path.to_string(),
                            location: Location::of_token(text, group).map(|l| Location {
                                column: l.column - 1,
                                ..l
                            }),
                            message: format!(
                                "systemd group {name} is not expanded: list its syscalls instead"
                            ),
                        });
                        continue;
                    }
                    // The line's own mode agrees with the list's: add.
                    if mode != inverted {
                        s.filter.insert(name.to_string(), denial);
                    } else {
                        s.filter.remove(name);
                    }
                }
            }
            "SystemCallErrorNumber" => {
                s.error_number = if value.is_empty() {
                    None
                } else {
                    Some(parse_denial(value).map_err(err)?)
                };
            }
            "SystemCallArchitectures" => {
                if value.is_empty() {
                    s.arches.clear();
                }
                for name in value.split_whitespace() {
                    let arch = if name == "native" {
                        Arch::host()
                    } else {
                        Arch::ALL
                            .into_iter()
                            .find(|&a| systemd_arch_name(a) == Some(name))
                            .ok_or_else(|| {
                                err(format!(
                                    "unknown architecture {name:?} in SystemCallArchitectures=: use systemd's names such as native, x86-64, x86, arm64"
                                ))
                            })?
                    };
                    s.arches.insert(arch);
                }
            }
            "SystemCallLog" => {
                if value.is_empty() {
                    s.log_listed = None;
                    s.log.clear();
                    continue;
                }
                let (inverted, list) = match value.strip_prefix('~') {
                    Some(rest) => (true, rest),
                    None => (false, value),
                };
                s.log_listed.get_or_insert(!inverted);
                s.log.extend(list.split_whitespace().map(String::from));
            }
            _ => {}
        }
    }
    Ok(Document {
        profile: to_profile(s),
        format: InputFormat::Systemd,
        name: None,
        namespace: None,
    })
}

/// Lines with their numbers, comments dropped and `\` continuations joined.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if pending.is_none() && (line.starts_with('#') || line.starts_with(';')) {
            continue;
        }
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        match line.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                joined.push(' ');
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(line);
                out.push((start, joined));
            }
        }
    }
    out.extend(pending);
    out
}

fn to_profile(s: Settings) -> Profile {
    let allow_mode = s.allow_mode.unwrap_or(false);
    let mut by_action: BTreeMap<(Action, Option<u32>), BTreeSet<String>> = BTreeMap::new();
    let mut add = |action: Action, errno: Option<u32>, name: &str| {
        by_action
            .entry((action, errno))
            .or_default()
            .insert(name.to_string());
    };
    let logged = |name: &str| match s.log_listed {
        Some(true) => s.log.contains(name),
        Some(false) => !s.log.contains(name),
        None => false,
    };
    let (default_action, default_errno_ret) = if allow_mode {
        for name in s.filter.keys() {
            if logged(name) {
                add(Action::Log, None, name);
            } else {
                add(Action::Allow, None, name);
            }
        }
        match s.error_number {
            Some(Denial::Errno(e)) => (Action::Errno, Some(e)),
            _ => (Action::KillProcess, None),
        }
    } else {
        for (name, denial) in &s.filter {
            match denial.or(s.error_number).unwrap_or(Denial::Kill) {
                Denial::Kill => add(Action::KillProcess, None, name),
                Denial::Errno(e) => add(Action::Errno, Some(e), name),
            }
        }
        if s.log_listed == Some(false) {
            for name in s.log.iter().filter(|n| !s.filter.contains_key(*n)) {
                add(Action::Allow, None, name);
            }
            (Action::Log, None)
        } else {
            for name in s.log.iter().filter(|n| !s.filter.contains_key(*n)) {
                add(Action::Log, None, name);
            }
            (Action::Allow, None)
        }
    };
    Profile {
        default_action,
        default_errno_ret,
        architectures: s.arches.into_iter().collect(),
        flags: Vec::new(),
        listener_path: None,
        listener_metadata: None,
        syscalls: by_action
            .into_iter()
            .map(|((action, errno_ret), names)| SyscallRule {
                names: names.into_iter().collect(),
                action,
                errno_ret,
                args: Vec::new(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::read::{Target, read_str};

    fn read(text: &str) -> Result<Profile, ReadError> {
        read_str(text, "p.conf", &Target::for_arch(Arch::X86_64))
            .map(|f| f.single().unwrap().profile)
    }

    #[test]
    fn allow_list() {
        let p = read("[Service]\nSystemCallArchitectures=x86-64 x86\nSystemCallErrorNumber=ENOSYS\nSystemCallFilter=read write \\\n  openat\nSystemCallFilter=~write\nSystemCallLog=openat\n").unwrap();
        assert_eq!(p.default_action, Action::Errno);
        assert_eq!(p.default_errno_ret, Some(38));
        assert_eq!(p.architectures, [Arch::X86, Arch::X86_64]);
        assert_eq!(p.syscalls.len(), 2);
        assert_eq!(
            (p.syscalls[0].action, &p.syscalls[0].names[..]),
            (Action::Log, &["openat".to_string()][..])
        );
        assert_eq!(
            (p.syscalls[1].action, &p.syscalls[1].names[..]),
            (Action::Allow, &["read".to_string()][..])
        );
    }

    #[test]
    fn deny_list_with_errnos() {
        let p = read("SystemCallFilter=~mount:EPERM ptrace\nSystemCallErrorNumber=EACCES\nSystemCallLog=~read\n").unwrap();
        assert_eq!(p.default_action, Action::Log);
        let rules: Vec<_> = p
            .syscalls
            .iter()
            .map(|r| (r.action, r.errno_ret, r.names.join(",")))
            .collect();
        assert_eq!(
            rules,
            [
                (Action::Errno, Some(1), "mount".to_string()),
                (Action::Errno, Some(13), "ptrace".to_string()),
                (Action::Allow, None, "read".to_string()),
            ]
        );
    }

    #[test]
    fn bad_values_are_located() {
        let err = read("[Service]\nSystemCallFilter=read\nSystemCallArchitectures=vax\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p.conf:3:1: unknown architecture \"vax\""),
            "{err}"
        );
        let err = read("SystemCallFilter=~read:EWHAT\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("p.conf:1:1: unknown errno \"EWHAT\""),
            "{err}"
        );
    }

    #[test]
    fn groups_warn() {
        let file = read_str(
            "SystemCallFilter=@system-service read\n",
            "p.conf",
            &Target::for_arch(Arch::X86_64),
        )
        .unwrap();
        assert_eq!(file.warnings.len(), 1);
        assert!(
            file.warnings[0]
                .to_string()
                .starts_with("p.conf:1:18: systemd group @system-service"),
            "{}",
            file.warnings[0]
        );
    }
}
