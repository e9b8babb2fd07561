//! systemd's syscall groups (`@system-service`, `@file-system`, ...), as a
//! given systemd defines them.
//!
//! A unit's `SystemCallFilter=@system-service` means what the systemd that
//! reads it says, and that changes between releases. The installed systemd
//! tells (`systemd-analyze syscall-filter`); for machines without one, the
//! lists of named releases are shipped (`profiles/systemd/`, with their
//! source; `data/systemd/` links them into this crate). Both are read by one parser of `systemd-analyze`'s output.
//!
//! ```
//! use recorder_profile::profile::systemd_groups::SyscallGroups;
//! let v252 = SyscallGroups::shipped_version(252).unwrap();
//! let service = v252.expand("@system-service").unwrap();
//! assert!(service.contains("openat") && !service.contains("mount"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::process::Command;
use std::sync::OnceLock;

/// The shipped lists: (release, `systemd-analyze syscall-filter` output).
const SHIPPED: [(u32, &str); 3] = [
    (
        252,
        include_str!("../../data/systemd/syscall-filter-252.txt"),
    ),
    (
        254,
        include_str!("../../data/systemd/syscall-filter-254.txt"),
    ),
    (
        257,
        include_str!("../../data/systemd/syscall-filter-257.txt"),
    ),
];

/// The syscall groups of one systemd release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallGroups {
    /// The systemd release.
    pub version: u32,
    /// Where the lists come from.
    pub origin: GroupsOrigin,
    /// Each group (`@name`) and its members: names and other groups.
    groups: BTreeMap<String, Vec<String>>,
}

/// Where a [`SyscallGroups`] was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupsOrigin {
    /// The installed `systemd-analyze`.
    Installed,
    /// A list shipped with the recorder.
    Shipped,
}

impl fmt::Display for SyscallGroups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            GroupsOrigin::Installed => write!(f, "systemd {} (installed)", self.version),
            GroupsOrigin::Shipped => write!(f, "systemd {}", self.version),
        }
    }
}

/// Which systemd's groups to read units with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SystemdChoice {
    /// The installed systemd's; without one, the newest shipped list.
    #[default]
    Installed,
    /// A shipped list.
    Version(u32),
}

impl std::str::FromStr for SystemdChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "installed" {
            return Ok(SystemdChoice::Installed);
        }
        let known = || {
            SHIPPED
                .iter()
                .map(|(v, _)| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match s.parse::<u32>() {
            Ok(v) if SHIPPED.iter().any(|(known, _)| *known == v) => Ok(SystemdChoice::Version(v)),
            _ => Err(format!(
                "no syscall groups of systemd {s:?} here: use installed or one of {}",
                known()
            )),
        }
    }
}

impl SyscallGroups {
    /// Parses `systemd-analyze syscall-filter` output: a line `@group`, then
    /// its members indented (a `# description` first), groups apart by a
    /// blank line; lines starting with `#` are comments.
    pub fn parse(text: &str, version: u32, origin: GroupsOrigin) -> Result<SyscallGroups, String> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for (i, line) in text.lines().enumerate() {
            let item = line.trim();
            if item.is_empty() {
                current = None;
            } else if item.starts_with('#') {
                continue;
            } else if !line.starts_with(char::is_whitespace) {
                if !item.starts_with('@') {
                    return Err(format!("line {}: expected @group, found {item:?}", i + 1));
                }
                groups.insert(item.to_string(), Vec::new());
                current = Some(item.to_string());
            } else {
                let Some(group) = &current else {
                    return Err(format!("line {}: {item:?} outside of a group", i + 1));
                };
                groups
                    .get_mut(group)
                    .expect("the current group was inserted")
                    .push(item.to_string());
            }
        }
        if !groups.contains_key("@default") {
            return Err("no @default group".into());
        }
        Ok(SyscallGroups {
            version,
            origin,
            groups,
        })
    }

    /// The installed systemd's groups, when `systemd-analyze` runs here.
    pub fn installed() -> Option<&'static SyscallGroups> {
        static INSTALLED: OnceLock<Option<SyscallGroups>> = OnceLock::new();
        INSTALLED
            .get_or_init(|| {
                let run = |args: &[&str]| {
                    Command::new("systemd-analyze")
                        .args(args)
                        .output()
                        .ok()
                        .filter(|o| o.status.success())
                        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                };
                let version = run(&["--version"])?
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()?;
                let text = run(&["--no-pager", "syscall-filter"])?;
                SyscallGroups::parse(&text, version, GroupsOrigin::Installed)
                    .map_err(|e| log::info!("systemd-analyze syscall-filter: {e}"))
                    .ok()
            })
            .as_ref()
    }

    /// The shipped lists, oldest release first.
    pub fn shipped() -> &'static [SyscallGroups] {
        static SHIPPED_GROUPS: OnceLock<Vec<SyscallGroups>> = OnceLock::new();
        SHIPPED_GROUPS.get_or_init(|| {
            SHIPPED
                .iter()
                .map(|&(version, text)| {
                    SyscallGroups::parse(text, version, GroupsOrigin::Shipped)
                        .expect("the shipped lists parse (checked by a unit test)")
                })
                .collect()
        })
    }

    /// The shipped list of one release.
    pub fn shipped_version(version: u32) -> Option<&'static SyscallGroups> {
        SyscallGroups::shipped()
            .iter()
            .find(|g| g.version == version)
    }

    /// The groups `choice` names.
    pub fn chosen(choice: SystemdChoice) -> &'static SyscallGroups {
        let newest = || {
            SyscallGroups::shipped()
                .last()
                .expect("at least one list is shipped")
        };
        match choice {
            SystemdChoice::Installed => SyscallGroups::installed().unwrap_or_else(newest),
            SystemdChoice::Version(v) => SyscallGroups::shipped_version(v).unwrap_or_else(newest),
        }
    }

    /// Every list known here: the installed systemd's and the shipped ones.
    pub fn every_known() -> Vec<&'static SyscallGroups> {
        SyscallGroups::installed()
            .into_iter()
            .chain(SyscallGroups::shipped())
            .collect()
    }

    /// Whether `group` (with its `@`) is a group of this release.
    pub fn has(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }

    /// The group names, sorted.
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.groups.keys().map(String::as_str)
    }

    /// The syscall names of `group` (with its `@`), nested groups expanded;
    /// `None` for a group this release does not have.
    pub fn expand(&self, group: &str) -> Option<BTreeSet<String>> {
        let mut names = BTreeSet::new();
        let mut seen = BTreeSet::new();
        self.expand_into(group, &mut names, &mut seen)?;
        Some(names)
    }

    fn expand_into<'a>(
        &'a self,
        group: &'a str,
        names: &mut BTreeSet<String>,
        seen: &mut BTreeSet<&'a str>,
    ) -> Option<()> {
        let members = self.groups.get(group)?;
        if !seen.insert(group) {
            return Some(());
        }
        for member in members {
            if member.starts_with('@') {
                // A member group this release lacks contributes nothing.
                let _ = self.expand_into(member, names, seen);
            } else {
                names.insert(member.clone());
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_lists_parse_and_differ_where_systemd_changed() {
        let versions: Vec<u32> = SyscallGroups::shipped().iter().map(|g| g.version).collect();
        assert_eq!(versions, [252, 254, 257]);
        let v = |n| SyscallGroups::shipped_version(n).unwrap();
        assert!(!v(252).has("@sandbox") && v(254).has("@sandbox"));
        let service = |n| v(n).expand("@system-service").unwrap();
        assert!(!service(252).contains("landlock_create_ruleset"));
        assert!(service(254).contains("landlock_create_ruleset"));
        assert!(!service(254).contains("mseal") && service(257).contains("mseal"));
        assert_eq!(
            v(252).expand("@swap").unwrap(),
            BTreeSet::from(["swapoff".to_string(), "swapon".to_string()])
        );
        assert!(v(252).expand("@nope").is_none());
    }

    #[test]
    fn nested_groups_and_comments() {
        let text = "@default\n    # always\n    exit\n\n@a\n    # A\n    @default\n    @missing\n    read\n\n@b\n    @a\n    @b\n    write\n\n# Ungrouped:\n#   other\n";
        let g = SyscallGroups::parse(text, 1, GroupsOrigin::Shipped).unwrap();
        let names = |group| g.expand(group).unwrap().into_iter().collect::<Vec<_>>();
        assert_eq!(names("@b"), ["exit", "read", "write"]);
        assert_eq!(
            g.group_names().collect::<Vec<_>>(),
            ["@a", "@b", "@default"]
        );
        assert!(SyscallGroups::parse("read\n", 1, GroupsOrigin::Shipped).is_err());
        assert!(SyscallGroups::parse("@x\n    read\n", 1, GroupsOrigin::Shipped).is_err());
    }

    #[test]
    fn choices() {
        assert_eq!("installed".parse(), Ok(SystemdChoice::Installed));
        assert_eq!("254".parse(), Ok(SystemdChoice::Version(254)));
        assert_eq!(
            "249".parse::<SystemdChoice>().unwrap_err(),
            "no syscall groups of systemd \"249\" here: use installed or one of 252, 254, 257"
        );
        assert_eq!(
            SyscallGroups::chosen(SystemdChoice::Version(254)).version,
            254
        );
    }
}
