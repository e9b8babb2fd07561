//! `recorder explain`: what a profile allows, in words.
//!
//! Each allowed syscall gets one line saying what it does, grouped by kind
//! (files, network, processes, memory, time, IPC, privileged), and a flag when
//! Docker's default profile blocks or restricts it, with the reason. The
//! descriptions (`syscalls.tsv`) and Docker's decisions (`docker.tsv`) are
//! data files beside this module.
//!
//! ```
//! use recorder_profile::arch::Arch;
//! use recorder_profile::explain::explain;
//! use recorder_profile::profile::Profile;
//! let p = Profile::allow_list([Arch::X86_64], ["mount".to_string()], 1);
//! let text = explain(&p).render(false);
//! assert!(text.contains("mount  mount a filesystem  ! Docker blocks: mounts filesystems"));
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

use crate::profile::Profile;
use crate::profile::effective::Effective;
use crate::profile::values::describe_treatment;

/// What a syscall is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Files,
    Network,
    Processes,
    Memory,
    Time,
    Ipc,
    Privileged,
    /// Not in the recorder's descriptions.
    Other,
}

impl Kind {
    fn parse(text: &str) -> Option<Kind> {
        Some(match text {
            "files" => Kind::Files,
            "network" => Kind::Network,
            "processes" => Kind::Processes,
            "memory" => Kind::Memory,
            "time" => Kind::Time,
            "ipc" => Kind::Ipc,
            "privileged" => Kind::Privileged,
            _ => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Files => "FILES",
            Kind::Network => "NETWORK",
            Kind::Processes => "PROCESSES",
            Kind::Memory => "MEMORY",
            Kind::Time => "TIME",
            Kind::Ipc => "IPC",
            Kind::Privileged => "PRIVILEGED",
            Kind::Other => "OTHER",
        })
    }
}

/// What Docker's default profile does with a syscall it does not simply
/// allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DockerDefault {
    Blocked,
    Restricted,
}

struct Description {
    kind: Kind,
    text: &'static str,
}

/// Tab-separated lines, `#` comments skipped.
fn rows(data: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    data.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
}

fn descriptions() -> &'static HashMap<&'static str, Description> {
    static TABLE: OnceLock<HashMap<&'static str, Description>> = OnceLock::new();
    TABLE.get_or_init(|| {
        rows(include_str!("syscalls.tsv"))
            .filter_map(|r| {
                let kind = Kind::parse(r.get(1)?)?;
                Some((
                    *r.first()?,
                    Description {
                        kind,
                        text: r.get(2)?,
                    },
                ))
            })
            .collect()
    })
}

/// Docker's default profile's decision and reason per syscall name.
pub fn docker_defaults() -> &'static HashMap<&'static str, (DockerDefault, &'static str)> {
    static TABLE: OnceLock<HashMap<&'static str, (DockerDefault, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        rows(include_str!("docker.tsv"))
            .filter_map(|r| {
                let status = match *r.get(1)? {
                    "blocked" => DockerDefault::Blocked,
                    "restricted" => DockerDefault::Restricted,
                    _ => return None,
                };
                Some((*r.first()?, (status, *r.get(2)?)))
            })
            .collect()
    })
}

/// The entry for `name`, or for the syscall it is a variant of
/// (`chown32` -> `chown`, `fstat64` -> `fstat`, `futex_time64` -> `futex`).
pub fn lookup<'a, T>(table: &'a HashMap<&'static str, T>, name: &str) -> Option<&'a T> {
    table.get(name).or_else(|| {
        ["_time64", "32", "64"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix).and_then(|base| table.get(base)))
    })
}

/// One syscall of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: Kind,
    pub description: String,
    /// How the profile lets it run when not plainly allowed (`logged`,
    /// `only TCGETS, FIONREAD`, `without namespace flags`).
    pub qualifier: Option<String>,
    pub docker: Option<(DockerDefault, &'static str)>,
}

/// What a profile allows (or, when it allows by default, denies), by kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub summary: String,
    pub groups: BTreeMap<Kind, Vec<Entry>>,
}

/// Explains `profile`.
pub fn explain(profile: &Profile) -> Explanation {
    let effective = Effective::of(profile);
    let default = effective.default;
    let lists_denials = default.action.lets_run();
    let arches: Vec<&str> = effective
        .architectures
        .iter()
        .map(|a| a.short_name())
        .collect();
    let mut groups: BTreeMap<Kind, Vec<Entry>> = BTreeMap::new();
    let mut count = 0;
    let mut conditional = 0;
    for (name, treatment) in &effective.rules {
        let listed = if lists_denials {
            !treatment.always_runs(default)
        } else {
            treatment.sometimes_runs(default)
        };
        if !listed {
            continue;
        }
        count += 1;
        if !treatment.conditional.is_empty() {
            conditional += 1;
        }
        let qualifier = if !treatment.conditional.is_empty() || lists_denials {
            Some(describe_treatment(name, treatment, default))
        } else if treatment.fallback(default).action == crate::profile::Action::Log {
            Some("logged".to_string())
        } else {
            None
        };
        let (kind, description) = match lookup(descriptions(), name) {
            Some(d) => (d.kind, d.text.to_string()),
            None => (Kind::Other, "no description".to_string()),
        };
        groups.entry(kind).or_default().push(Entry {
            name: name.clone(),
            kind,
            description,
            qualifier,
            docker: lookup(docker_defaults(), name).copied(),
        });
    }
    let summary = format!(
        "default {default}; architectures {}; {} {count} syscall{}{}",
        if arches.is_empty() {
            "native".to_string()
        } else {
            arches.join(", ")
        },
        if lists_denials { "denies" } else { "allows" },
        if count == 1 { "" } else { "s" },
        match conditional {
            0 => String::new(),
            n => format!(" ({n} depending on argument values)"),
        }
    );
    Explanation { summary, groups }
}

impl Explanation {
    /// The table as text; `color` adds ANSI colours (for a terminal).
    pub fn render(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let entries = || self.groups.values().flatten();
        let name_width = entries().map(|e| e.name.len()).max().unwrap_or(0);
        let text_width = entries()
            .map(|e| e.description.len() + e.qualifier.as_ref().map_or(0, |q| q.len() + 3))
            .max()
            .unwrap_or(0);
        let mut out = format!("{}\n", self.summary);
        let mut flagged = Vec::new();
        for (kind, list) in &self.groups {
            out.push_str(&format!(
                "\n{}\n",
                paint("1", &format!("{kind} ({})", list.len()))
            ));
            for e in list {
                let mut text = e.description.clone();
                if let Some(q) = &e.qualifier {
                    text.push_str(&format!(" [{q}]"));
                }
                let line = match e.docker {
                    Some((status, reason)) => {
                        flagged.push(e.name.as_str());
                        let (mark, verb, code) = match status {
                            DockerDefault::Blocked => ("!", "blocks", "31"),
                            DockerDefault::Restricted => ("~", "restricts", "33"),
                        };
                        format!(
                            "  {:<name_width$}  {text:<text_width$}  {}",
                            e.name,
                            paint(code, &format!("{mark} Docker {verb}: {reason}"))
                        )
                    }
                    None => format!("  {:<name_width$}  {text}", e.name),
                };
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        if !flagged.is_empty() {
            out.push_str(&format!(
                "\n{} syscall{} that Docker's default profile blocks or restricts: {}\n",
                flagged.len(),
                if flagged.len() == 1 { "" } else { "s" },
                flagged.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::profile::syscall_names;

    #[test]
    fn tables_parse_and_name_real_syscalls() {
        assert!(descriptions().len() > 400);
        for name in descriptions().keys().chain(docker_defaults().keys()) {
            assert!(syscall_names::is_known(name), "{name}");
        }
        assert_eq!(
            lookup(descriptions(), "chown32").map(|d| d.text),
            Some("change a file's owner")
        );
        assert_eq!(
            lookup(docker_defaults(), "clock_settime64").map(|d| d.0),
            Some(DockerDefault::Blocked)
        );
    }

    #[test]
    fn every_syscall_has_a_description() {
        let missing: Vec<&str> = Arch::ALL
            .iter()
            .flat_map(|a| a.table().entries().map(|(_, n)| n).collect::<Vec<_>>())
            .filter(|n| lookup(descriptions(), n).is_none())
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn allow_by_default_lists_the_denials() {
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 1);
        p.default_action = crate::profile::Action::Allow;
        p.syscalls[0].action = crate::profile::Action::Errno;
        let text = explain(&p).render(false);
        assert_eq!(
            text,
            "default SCMP_ACT_ALLOW; architectures x86_64; denies 1 syscall\n\nFILES (1)\n  read  read from a file descriptor [SCMP_ACT_ERRNO(EPERM)]\n"
        );
    }

    #[test]
    fn argument_values_by_name() {
        use crate::profile::{Action, ArgCondition, ArgOp, SyscallRule};
        let mut p = Profile::allow_list([Arch::X86_64], ["read".to_string()], 38);
        for (name, index, value) in [("ioctl", 1, 0x5401), ("ioctl", 1, 0x541b)] {
            p.syscalls.push(SyscallRule {
                args: vec![ArgCondition {
                    index,
                    value,
                    value_two: 0,
                    op: ArgOp::Equal,
                }],
                ..SyscallRule::new([name.to_string()], Action::Allow)
            });
        }
        let text = explain(&p).render(false);
        assert_eq!(
            text,
            "default SCMP_ACT_ERRNO(ENOSYS); architectures x86_64; allows 2 syscalls (1 depending on argument values)\n\nFILES (2)\n  ioctl  device-specific control of an open file [only TCGETS, FIONREAD]\n  read   read from a file descriptor\n"
        );
    }

    #[test]
    fn groups_and_flags() {
        let p = Profile::allow_list(
            [Arch::X86_64],
            ["read", "openat", "mount", "ptrace", "socket", "foo_bar"].map(String::from),
            1,
        );
        let e = explain(&p);
        let kinds: Vec<(Kind, Vec<&str>)> = e
            .groups
            .iter()
            .map(|(k, v)| (*k, v.iter().map(|e| e.name.as_str()).collect()))
            .collect();
        assert_eq!(
            kinds,
            [
                (Kind::Files, vec!["openat", "read"]),
                (Kind::Network, vec!["socket"]),
                (Kind::Processes, vec!["ptrace"]),
                (Kind::Privileged, vec!["mount"]),
                (Kind::Other, vec!["foo_bar"]),
            ]
        );
        let text = e.render(false);
        assert!(
            text.starts_with(
                "default SCMP_ACT_ERRNO(EPERM); architectures x86_64; allows 6 syscalls\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("3 syscalls that Docker's default profile blocks or restricts: socket, ptrace, mount\n"), "{text}");
        assert!(!text.contains('\x1b'));
        assert!(
            e.render(true)
                .contains("\x1b[31m! Docker blocks: mounts filesystems")
        );
    }
}
