//! systemd unit settings: `SystemCallFilter=`, `SystemCallErrorNumber=`,
//! `SystemCallArchitectures=` and `SystemCallLog=`, read as systemd.exec(5)
//! and systemd's own parser (`config_parse_syscall_filter`) read them, from
//! a whole unit or a drop-in: the lines of its `[Service]` section (or
//! `[Socket]`, `[Mount]`, `[Swap]`, which take the same settings) count, the
//! rest is ignored; a file without sections is read as one section.
//!
//! The first `SystemCallFilter=` decides the mode: a list allows the names
//! and systemd's `@default` group, and denies the rest; `~list` denies the
//! names and allows the rest. Later lines add to the list, or with the other
//! mode remove from it; an empty assignment resets it. `@group`s are
//! expanded as the chosen systemd defines them
//! ([`crate::profile::systemd_groups`]). `name:ERRNO` (deny lists only)
//! gives a name its own errno. What systemd ignores with a warning (unknown
//! names and groups, bad errnos and architectures) is ignored here with one.
//! Without `SystemCallArchitectures=` the filter covers every ABI the host
//! runs (systemd's `seccomp_local_archs`).

use std::collections::{BTreeMap, BTreeSet};

use super::{Document, InputFormat, Location, ReadError, ReadWarning};
use crate::arch::Arch;
use crate::errno::parse_errno;
use crate::profile::syscall_names;
use crate::profile::systemd_groups::SyscallGroups;
use crate::profile::{Action, Profile, SyscallRule};

const KEYS: [&str; 4] = [
    "SystemCallFilter",
    "SystemCallErrorNumber",
    "SystemCallArchitectures",
    "SystemCallLog",
];

/// The sections whose settings systemd.exec(5) defines.
const EXEC_SECTIONS: [&str; 4] = ["[Service]", "[Socket]", "[Mount]", "[Swap]"];

/// Whether `text` has systemd syscall settings.
pub(super) fn looks_like(text: &str) -> bool {
    text.lines().any(|l| {
        l.trim_start()
            .split_once('=')
            .is_some_and(|(k, _)| KEYS.contains(&k.trim()))
    })
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

/// The ABIs systemd filters on a host of `native` when a unit does not
/// restrict them (`seccomp_local_archs` in systemd's seccomp-util.c).
pub fn systemd_local_arches(native: Arch) -> Vec<Arch> {
    match native {
        Arch::X86_64 => vec![Arch::X86_64, Arch::X86, Arch::X32],
        Arch::X32 => vec![Arch::X32, Arch::X86, Arch::X86_64],
        Arch::Aarch64 => vec![Arch::Aarch64, Arch::Arm],
        Arch::Mips64 => vec![
            Arch::Mips64,
            Arch::Mipsel,
            Arch::Mips,
            Arch::Mipsel64n32,
            Arch::Mips64n32,
            Arch::Mipsel64,
        ],
        Arch::Mipsel64 => vec![
            Arch::Mipsel64,
            Arch::Mips,
            Arch::Mipsel,
            Arch::Mips64n32,
            Arch::Mipsel64n32,
            Arch::Mips64,
        ],
        Arch::Mips64n32 => vec![
            Arch::Mips64n32,
            Arch::Mipsel,
            Arch::Mips,
            Arch::Mipsel64,
            Arch::Mips64,
            Arch::Mipsel64n32,
        ],
        Arch::Mipsel64n32 => vec![
            Arch::Mipsel64n32,
            Arch::Mips,
            Arch::Mipsel,
            Arch::Mips64,
            Arch::Mipsel64,
            Arch::Mips64n32,
        ],
        Arch::Mips => vec![Arch::Mips, Arch::Mipsel],
        Arch::Mipsel => vec![Arch::Mipsel, Arch::Mips],
        Arch::Ppc64 => vec![Arch::Ppc64, Arch::Ppc, Arch::Ppc64le],
        Arch::Ppc64le => vec![Arch::Ppc64le, Arch::Ppc, Arch::Ppc64],
        Arch::S390x => vec![Arch::S390x, Arch::S390],
        other => vec![other],
    }
}

/// What a denied syscall gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Denial {
    Kill,
    Errno(u32),
}

/// An errno as systemd takes it after a `:` (0 to 4095, a name, or kill).
fn parse_suffix(value: &str) -> Result<Denial, String> {
    if value.eq_ignore_ascii_case("kill") {
        Ok(Denial::Kill)
    } else if value == "0" {
        Ok(Denial::Errno(0))
    } else {
        parse_errno(value).map(Denial::Errno)
    }
}

/// One of systemd's syscall lists (`SystemCallFilter=`, `SystemCallLog=`):
/// `allow_list` tells what the listed names are.
#[derive(Default)]
struct SyscallList {
    /// `None`: never set, or reset.
    names: Option<BTreeMap<String, Option<Denial>>>,
    allow_list: bool,
}

#[derive(Default)]
struct Settings {
    filter: SyscallList,
    error_number: Option<Denial>,
    /// `None`: not restricted (the host's ABIs).
    arches: Option<BTreeSet<Arch>>,
    log: SyscallList,
}

/// Reads units with a group table, warning like systemd.
struct Reader<'a> {
    text: &'a str,
    path: &'a str,
    groups: &'a SyscallGroups,
    warnings: &'a mut Vec<ReadWarning>,
    /// Whether a group was expanded (the table then matters).
    used_groups: bool,
}

impl Reader<'_> {
    fn warn(&mut self, line: usize, token: &str, message: String) {
        let location = self.text.lines().nth(line - 1).and_then(|l| {
            l.find(token).map(|i| Location {
                line,
                column: l[..i].chars().count() + 1,
            })
        });
        self.warnings.push(ReadWarning {
            path: self.path.to_string(),
            location: location.or(Some(Location { line, column: 1 })),
            message,
        });
    }

    /// systemd's `seccomp_parse_syscall_filter`: adds `name` (a syscall or
    /// a group) to the list, or removes it. `warn_unknown`: only names
    /// written in the unit are warned about, not those of a group.
    fn apply(
        &mut self,
        list: &mut BTreeMap<String, Option<Denial>>,
        name: &str,
        denial: Option<Denial>,
        add: bool,
        line: usize,
        warn_unknown: bool,
    ) {
        if name.starts_with('@') {
            let Some(members) = self.groups.expand(name) else {
                let message = format!(
                    "{} has no syscall group {name}: systemd ignores it, and so does this profile",
                    self.groups
                );
                self.warn(line, name, message);
                return;
            };
            self.used_groups = true;
            for member in members {
                self.apply(list, &member, denial, add, line, false);
            }
            return;
        }
        if !syscall_names::is_known(name) {
            if warn_unknown {
                let hint = match syscall_names::closest(name) {
                    Some(close) => format!(" (did you mean {close:?}?)"),
                    None => String::new(),
                };
                self.warn(
                    line,
                    name,
                    format!("unknown syscall {name:?}{hint}: systemd ignores it"),
                );
            }
            return;
        }
        if add {
            list.insert(name.to_string(), denial);
        } else {
            list.remove(name);
        }
    }

    /// `SystemCallFilter=` (`implied`: `@default` for a new allow list) or
    /// `SystemCallLog=`.
    fn list_setting(
        &mut self,
        list: &mut SyscallList,
        value: &str,
        line: usize,
        implied: Option<&str>,
        takes_errno: bool,
    ) {
        if value.is_empty() {
            *list = SyscallList::default();
            return;
        }
        let (invert, items) = match value.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let mut names = list.names.take().unwrap_or_else(|| {
            list.allow_list = !invert;
            let mut names = BTreeMap::new();
            if let Some(group) = implied.filter(|_| !invert) {
                self.apply(&mut names, group, None, true, line, false);
            }
            names
        });
        // A name is added when the line's mode is the list's.
        let add = invert != list.allow_list;
        for item in items.split_whitespace() {
            let (name, denial) = match item.split_once(':') {
                Some((name, suffix)) if takes_errno => match parse_suffix(suffix) {
                    Ok(d) => (name, Some(d)),
                    Err(e) => {
                        self.warn(line, item, format!("{e}: systemd ignores {item:?}"));
                        continue;
                    }
                },
                _ => (item, None),
            };
            if denial.is_some() && !invert {
                self.warn(
                    line,
                    item,
                    format!("only denied syscalls (~) take an errno: systemd ignores {item:?}"),
                );
                continue;
            }
            self.apply(&mut names, name, denial, add, line, true);
        }
        list.names = Some(names);
    }
}

/// Reads the syscall settings of a unit file into a profile, for a host of
/// `native` (what `native` means), with the groups of `groups`
/// (`fell_back`: a shipped list, as no systemd is installed).
pub(super) fn read(
    text: &str,
    path: &str,
    native: Arch,
    groups: &SyscallGroups,
    fell_back: bool,
    warnings: &mut Vec<ReadWarning>,
) -> Result<Document, ReadError> {
    let mut s = Settings::default();
    let mut reader = Reader {
        text,
        path,
        groups,
        warnings,
        used_groups: false,
    };
    let sectioned = text.lines().any(|l| l.trim_start().starts_with('['));
    let mut in_exec_section = !sectioned;
    for (line, logical) in logical_lines(text) {
        if logical.starts_with('[') {
            in_exec_section = EXEC_SECTIONS.contains(&logical.as_str());
            continue;
        }
        let Some((key, value)) = logical.split_once('=') else {
            continue;
        };
        if !in_exec_section {
            continue;
        }
        let value = value.trim();
        match key.trim() {
            "SystemCallFilter" => {
                let mut filter = std::mem::take(&mut s.filter);
                reader.list_setting(&mut filter, value, line, Some("@default"), true);
                s.filter = filter;
            }
            "SystemCallLog" => {
                let mut log = std::mem::take(&mut s.log);
                reader.list_setting(&mut log, value, line, None, false);
                s.log = log;
            }
            "SystemCallErrorNumber" => {
                if value.is_empty() || value.eq_ignore_ascii_case("kill") {
                    s.error_number = None;
                } else {
                    match parse_errno(value) {
                        Ok(e) => s.error_number = Some(Denial::Errno(e)),
                        Err(e) => {
                            reader.warn(line, value, format!("{e}: systemd ignores the line"))
                        }
                    }
                }
            }
            "SystemCallArchitectures" => {
                if value.is_empty() {
                    s.arches = None;
                }
                for name in value.split_whitespace() {
                    let arch = if name == "native" {
                        Some(native)
                    } else {
                        Arch::ALL
                            .into_iter()
                            .find(|&a| systemd_arch_name(a) == Some(name))
                    };
                    match arch {
                        Some(arch) => {
                            s.arches.get_or_insert_default().insert(arch);
                        }
                        None => reader.warn(
                            line,
                            name,
                            format!(
                                "unknown architecture {name:?}: systemd ignores it (its names are native, x86-64, x86, arm64, ...)"
                            ),
                        ),
                    }
                }
            }
            _ => {}
        }
    }
    if reader.used_groups && fell_back {
        reader.warnings.push(ReadWarning {
            path: path.to_string(),
            location: None,
            message: format!(
                "syscall groups expanded as {groups} defines them (no systemd-analyze here): choose the unit's systemd with --systemd VERSION"
            ),
        });
    }
    Ok(Document {
        profile: to_profile(s, native),
        format: InputFormat::Systemd,
        name: None,
        namespace: None,
    })
}

/// Lines with their numbers, comments dropped and `\` continuations joined
/// (comment lines inside a continuation are skipped, as systemd does).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || line.starts_with(';') {
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

fn to_profile(s: Settings, native: Arch) -> Profile {
    let mut by_action: BTreeMap<(Action, Option<u32>), BTreeSet<String>> = BTreeMap::new();
    let mut add = |action: Action, errno: Option<u32>, name: &str| {
        by_action
            .entry((action, errno))
            .or_default()
            .insert(name.to_string());
    };
    let log_set = s.log.names.is_some();
    let log_listed = s.log.allow_list;
    let log_names = s.log.names.unwrap_or_default();
    // The log filter stacks on the syscall filter: a denial wins over
    // logging, logging over allowing.
    let logged = |name: &str| match (log_set, log_listed) {
        (true, true) => log_names.contains_key(name),
        (true, false) => !log_names.contains_key(name),
        (false, _) => false,
    };
    let denied_by = |denial: Option<Denial>| match denial.or(s.error_number) {
        Some(Denial::Errno(e)) => (Action::Errno, Some(e)),
        _ => (Action::KillProcess, None),
    };
    let filter = s.filter.names.unwrap_or_default();
    let default = if s.filter.allow_list {
        for name in filter.keys() {
            if logged(name) {
                add(Action::Log, None, name);
            } else {
                add(Action::Allow, None, name);
            }
        }
        denied_by(None)
    } else {
        for (name, denial) in &filter {
            let (action, errno) = denied_by(*denial);
            add(action, errno, name);
        }
        let others = log_names.keys().filter(|n| !filter.contains_key(*n));
        if log_set && !log_listed {
            for name in others {
                add(Action::Allow, None, name);
            }
            (Action::Log, None)
        } else {
            for name in others {
                add(Action::Log, None, name);
            }
            (Action::Allow, None)
        }
    };
    let architectures = match s.arches {
        Some(arches) => arches.into_iter().collect(),
        None => systemd_local_arches(native),
    };
    Profile {
        default_action: default.0,
        default_errno_ret: default.1,
        architectures,
        flags: None,
        listener_path: None,
        listener_metadata: None,
        syscalls: by_action
            .into_iter()
            .map(|((action, errno_ret), names)| SyscallRule {
                errno_ret,
                ..SyscallRule::new(names, action)
            })
            .collect(),
        unknown_fields: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::read::{ReadFile, Target, read_str};
    use crate::profile::systemd_groups::SystemdChoice;

    fn target() -> Target {
        Target {
            systemd: SystemdChoice::Version(252),
            ..Target::for_arch(Arch::X86_64)
        }
    }

    fn read_file(text: &str) -> ReadFile {
        read_str(text, "p.conf", &target()).unwrap()
    }

    fn read(text: &str) -> Profile {
        read_file(text).single().unwrap().profile
    }

    fn group(name: &str) -> BTreeSet<String> {
        SyscallGroups::shipped_version(252)
            .unwrap()
            .expand(name)
            .unwrap()
    }

    fn rules(p: &Profile) -> Vec<(Action, Option<u32>, BTreeSet<String>)> {
        p.syscalls
            .iter()
            .map(|r| (r.action, r.errno_ret, r.names.iter().cloned().collect()))
            .collect()
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn allow_lists_add_default_and_later_lines_remove() {
        let p = read(
            "[Service]\nSystemCallArchitectures=x86-64 x86\nSystemCallErrorNumber=ENOSYS\nSystemCallFilter=read write \\\n  openat\nSystemCallFilter=~write getpid\nSystemCallLog=openat\n",
        );
        assert_eq!(p.default_action, Action::Errno);
        assert_eq!(p.default_errno_ret, Some(38));
        assert_eq!(p.architectures, [Arch::X86, Arch::X86_64]);
        let mut allowed = group("@default");
        allowed.remove("getpid");
        allowed.insert("read".into());
        assert_eq!(
            rules(&p),
            [
                (Action::Log, None, set(&["openat"])),
                (Action::Allow, None, allowed),
            ]
        );
    }

    #[test]
    fn deny_lists_with_errnos_and_kill() {
        let p = read(
            "SystemCallFilter=~mount:EPERM ptrace @swap:kill\nSystemCallErrorNumber=EACCES\nSystemCallLog=~read\n",
        );
        assert_eq!(p.default_action, Action::Log);
        assert_eq!(p.architectures, [Arch::X86_64, Arch::X86, Arch::X32]);
        assert_eq!(
            rules(&p),
            [
                (Action::KillProcess, None, set(&["swapoff", "swapon"])),
                (Action::Errno, Some(1), set(&["mount"])),
                (Action::Errno, Some(13), set(&["ptrace"])),
                (Action::Allow, None, set(&["read"])),
            ]
        );
    }

    #[test]
    fn groups_nest_and_lines_combine_in_systemds_order() {
        // fstrim.service and systemd-timedated.service of systemd 252, then
        // a deny line that takes a group out again, then a reset.
        let p =
            read("[Service]\nSystemCallFilter=@default @file-system @basic-io @system-service\n");
        assert_eq!(rules(&p), [(Action::Allow, None, group("@system-service"))]);
        let p = read(
            "[Service]\nSystemCallFilter=@system-service @clock\nSystemCallFilter=~@chown\nSystemCallErrorNumber=EPERM\n",
        );
        let mut allowed = group("@system-service");
        allowed.extend(group("@clock"));
        allowed.retain(|n| !group("@chown").contains(n));
        assert_eq!(rules(&p), [(Action::Allow, None, allowed)]);
        assert_eq!(p.default_errno_ret, Some(1));
        let p = read(
            "[Service]\nSystemCallFilter=@system-service\nSystemCallFilter=\nSystemCallFilter=~mount\n",
        );
        assert_eq!(p.default_action, Action::Allow);
        assert_eq!(rules(&p), [(Action::KillProcess, None, set(&["mount"]))]);
    }

    #[test]
    fn only_exec_sections_count() {
        let p = read(
            "[Unit]\nSystemCallFilter=~read\n[Service]\nExecStart=/bin/true\nSystemCallFilter=~mount\n# SystemCallFilter=~ptrace\n[Install]\nSystemCallFilter=~bpf\n",
        );
        assert_eq!(rules(&p), [(Action::KillProcess, None, set(&["mount"]))]);
    }

    #[test]
    fn what_systemd_ignores_is_warned_about_and_ignored() {
        let file = read_file(
            "[Service]\nSystemCallArchitectures=native vax\nSystemCallFilter=@nope read:EPERM opneat\nSystemCallFilter=~write:EWHAT\nSystemCallErrorNumber=EWHAT\n",
        );
        let warnings: Vec<String> = file.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(
            warnings,
            [
                "p.conf:2:32: unknown architecture \"vax\": systemd ignores it (its names are native, x86-64, x86, arm64, ...)",
                "p.conf:3:18: systemd 252 has no syscall group @nope: systemd ignores it, and so does this profile",
                "p.conf:3:24: only denied syscalls (~) take an errno: systemd ignores \"read:EPERM\"",
                "p.conf:3:35: unknown syscall \"opneat\" (did you mean \"openat\"?): systemd ignores it",
                "p.conf:4:19: unknown errno \"EWHAT\": give a number or a name such as ENOSYS or EPERM: systemd ignores \"write:EWHAT\"",
                "p.conf:5:23: unknown errno \"EWHAT\": give a number or a name such as ENOSYS or EPERM: systemd ignores the line",
            ]
        );
        let p = file.single().unwrap().profile;
        assert_eq!(p.architectures, [Arch::X86_64]);
        assert_eq!(p.default_action, Action::KillProcess);
        assert_eq!(rules(&p), [(Action::Allow, None, group("@default"))]);
    }

    #[test]
    fn a_shipped_list_used_for_lack_of_systemd_is_named() {
        let groups = SyscallGroups::shipped_version(257).unwrap();
        let mut warnings = Vec::new();
        super::read(
            "SystemCallFilter=~@swap\n",
            "p.conf",
            Arch::X86_64,
            groups,
            true,
            &mut warnings,
        )
        .unwrap();
        assert_eq!(
            warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
            [
                "p.conf: syscall groups expanded as systemd 257 defines them (no systemd-analyze here): choose the unit's systemd with --systemd VERSION"
            ]
        );
    }
}
