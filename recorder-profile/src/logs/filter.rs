//! Which records count: `--pid`, `--comm`, `--exclude-comm`, `--exe`,
//! `--since`/`--until`, `--container` and `--action`.
//!
//! A record holds only the host pid, so `--container` looks each pid up in
//! /proc while its process lives. During a live read the container's
//! processes are followed too ([`FollowProcesses`]), so that one which
//! exits before its records are read still counts.

use std::collections::HashMap;
use std::fs;

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::record::{SeccompAction, SeccompRecord};
use super::time::prefix_time;

/// The filters given on the command line; empty lists mean "any".
#[derive(Clone, Debug, Default)]
pub struct FilterOptions {
    pub pids: Vec<u32>,
    pub comms: Vec<String>,
    pub exclude_comms: Vec<String>,
    pub exes: Vec<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, inclusive.
    pub until: Option<i64>,
    /// The container the records must come from.
    pub container: Option<ContainerSelector>,
    pub actions: Vec<ActionFilter>,
}

/// `--container`: what the user named, and what it resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSelector {
    /// As given (a name, id or id prefix), for messages.
    pub query: String,
    /// The container's id; or the id prefix given, when no container known
    /// now matches it (one removed since its log was written).
    pub id: String,
    /// Its cgroup, relative to the cgroup2 mount, when known.
    pub cgroup: Option<PathBuf>,
}

impl ContainerSelector {
    /// An id or id prefix, matched against the ids in cgroup names.
    pub fn id_prefix(prefix: &str) -> ContainerSelector {
        ContainerSelector {
            query: prefix.to_string(),
            id: prefix.to_string(),
            cgroup: None,
        }
    }

    /// Whether a `/proc/PID/cgroup` text puts the process in the
    /// container: in its cgroup or below, or in a cgroup named after it.
    pub fn matches(&self, cgroup_file: &str) -> bool {
        let in_own = self.cgroup.as_deref().is_some_and(|own| {
            cgroup_file
                .lines()
                .filter_map(|l| l.strip_prefix("0::"))
                .any(|path| Path::new(path.trim_end_matches(" (deleted)")).starts_with(own))
        });
        in_own || cgroup_matches(cgroup_file, &self.id)
    }
}

/// An `--action` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionFilter {
    Log,
    Errno,
    /// Either kill action.
    Kill,
    KillProcess,
    KillThread,
    Trap,
    Trace,
    UserNotif,
}

impl ActionFilter {
    pub const NAMES: &'static str =
        "log, errno, kill, kill_process, kill_thread, trap, trace, user_notif";

    fn admits(self, action: SeccompAction) -> bool {
        use SeccompAction as A;
        match self {
            ActionFilter::Log => action == A::Log,
            ActionFilter::Errno => action == A::Errno,
            ActionFilter::Kill => matches!(action, A::Kill | A::KillProcess | A::KillThread),
            ActionFilter::KillProcess => matches!(action, A::Kill | A::KillProcess),
            ActionFilter::KillThread => matches!(action, A::Kill | A::KillThread),
            ActionFilter::Trap => action == A::Trap,
            ActionFilter::Trace => action == A::Trace,
            ActionFilter::UserNotif => action == A::UserNotif,
        }
    }
}

impl std::str::FromStr for ActionFilter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase().replace('-', "_");
        let bare = lower.strip_prefix("scmp_act_").unwrap_or(&lower);
        Ok(match bare {
            "log" => ActionFilter::Log,
            "errno" => ActionFilter::Errno,
            "kill" => ActionFilter::Kill,
            "kill_process" => ActionFilter::KillProcess,
            "kill_thread" => ActionFilter::KillThread,
            "trap" => ActionFilter::Trap,
            "trace" => ActionFilter::Trace,
            "user_notif" | "notify" => ActionFilter::UserNotif,
            _ => {
                return Err(format!(
                    "unknown action {s:?}: use one of {}",
                    ActionFilter::NAMES
                ));
            }
        })
    }
}

/// Why a record was left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FilterReason {
    Pid,
    Comm,
    ExcludedComm,
    Exe,
    BeforeSince,
    AfterUntil,
    /// `--since`/`--until` given and the record has no time.
    NoTime,
    Action,
    /// The pid runs outside the container.
    OtherContainer,
    /// The pid has exited, so its container cannot be known.
    PidGone,
    /// No pid in the record to look up.
    NoPid,
}

impl FilterReason {
    pub fn describe(&self) -> &'static str {
        match self {
            FilterReason::Pid => "other pid (--pid)",
            FilterReason::Comm => "other comm (--comm)",
            FilterReason::ExcludedComm => "excluded comm (--exclude-comm)",
            FilterReason::Exe => "other exe (--exe)",
            FilterReason::BeforeSince => "before --since",
            FilterReason::AfterUntil => "after --until",
            FilterReason::NoTime => "no time stamp to compare with --since/--until",
            FilterReason::Action => "other action (--action)",
            FilterReason::OtherContainer => "other container (--container)",
            FilterReason::PidGone => "pid exited, container unknown (--container)",
            FilterReason::NoPid => "no pid= field (--container/--pid)",
        }
    }
}

/// Where a pid runs, as far as `--container` is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PidPlace {
    InContainer,
    Elsewhere,
    Gone,
}

/// Applies [`FilterOptions`] to records.
#[derive(Debug)]
pub struct Filter {
    options: FilterOptions,
    tz: TimeZone,
    now: Timestamp,
    /// pid -> place, looked up once per pid (pids seen while they live).
    places: HashMap<u32, PidPlace>,
    proc_root: PathBuf,
    /// The `--container`'s processes, during a live read.
    followed: Option<Box<dyn FollowProcesses>>,
}

/// Processes followed from outside the log: the `--container`'s processes
/// and every process they start, even once they have exited. `recorder`
/// follows them with the kernel's process events; a record of a pid that
/// no longer lives counts as the container's when its followed processes
/// say so.
pub trait FollowProcesses: Send + std::fmt::Debug {
    /// Whether `pid` is one of the followed processes.
    fn contains(&self, pid: u32) -> bool;

    /// Follows `pid` too: a process found in the container that joined it
    /// from outside (`docker exec`), whose children belong to it as well.
    fn insert(&self, pid: u32);
}

impl Filter {
    pub fn new(options: FilterOptions, tz: TimeZone) -> Filter {
        Filter {
            options,
            tz,
            now: Timestamp::now(),
            places: HashMap::new(),
            proc_root: "/proc".into(),
            followed: None,
        }
    }

    pub fn options(&self) -> &FilterOptions {
        &self.options
    }

    /// Counts the records of `processes` (and those they start) as the
    /// container's, even once they have exited.
    pub fn follow(&mut self, processes: impl FollowProcesses + 'static) {
        self.followed = Some(Box::new(processes));
    }

    /// `Ok` when the record counts, else why not.
    pub fn check(&mut self, r: &SeccompRecord<'_>) -> Result<(), FilterReason> {
        let o = &self.options;
        if !o.actions.is_empty() && !o.actions.iter().any(|a| a.admits(r.action)) {
            return Err(FilterReason::Action);
        }
        if !o.pids.is_empty() {
            match r.pid {
                Some(pid) if o.pids.contains(&pid) => {}
                Some(_) => return Err(FilterReason::Pid),
                None => return Err(FilterReason::NoPid),
            }
        }
        if !o.comms.is_empty()
            && !r
                .comm
                .is_some_and(|c| o.comms.iter().any(|w| c.equals(w.as_bytes())))
        {
            return Err(FilterReason::Comm);
        }
        if let Some(c) = r.comm
            && o.exclude_comms.iter().any(|w| c.equals(w.as_bytes()))
        {
            return Err(FilterReason::ExcludedComm);
        }
        if !o.exes.is_empty()
            && !r
                .exe
                .is_some_and(|e| o.exes.iter().any(|w| e.equals(w.as_bytes())))
        {
            return Err(FilterReason::Exe);
        }
        if o.since.is_some() || o.until.is_some() {
            let secs = match r.stamp {
                Some(s) => Some(s.secs),
                None => prefix_time(r.prefix, &self.tz, self.now),
            };
            let Some(secs) = secs else {
                return Err(FilterReason::NoTime);
            };
            if o.since.is_some_and(|since| secs < since) {
                return Err(FilterReason::BeforeSince);
            }
            if o.until.is_some_and(|until| secs > until) {
                return Err(FilterReason::AfterUntil);
            }
        }
        if let Some(container) = &o.container {
            let Some(pid) = r.pid else {
                return Err(FilterReason::NoPid);
            };
            let place = match self.places.get(&pid) {
                Some(place) => *place,
                None => {
                    let place = place_of(&self.proc_root, pid, container, self.followed.as_deref());
                    self.places.insert(pid, place);
                    place
                }
            };
            match place {
                PidPlace::InContainer => {}
                PidPlace::Elsewhere => return Err(FilterReason::OtherContainer),
                PidPlace::Gone => return Err(FilterReason::PidGone),
            }
        }
        Ok(())
    }
}

/// `--container` could not be applied: every candidate record's process
/// has exited, and a record holds no container or cgroup field.
#[derive(Debug, thiserror::Error)]
#[error(
    "--container {container}: the processes of all {gone} records have exited, so their container \
     cannot be known (a record holds only the host pid). Run `recorder logs --container` while the \
     container runs (with --source audit or --follow), or select records with --pid/--comm/--exe"
)]
pub struct PidExitedError {
    pub container: String,
    pub gone: u64,
}

impl PidExitedError {
    /// The error when `--container` matched nothing because pids were gone.
    pub fn check(options: &FilterOptions, summary: &super::Summary) -> Option<PidExitedError> {
        let container = &options.container.as_ref()?.query;
        let gone = summary
            .filtered
            .get(&FilterReason::PidGone)
            .copied()
            .unwrap_or(0);
        (gone > 0 && summary.matched_total() == 0).then(|| PidExitedError {
            container: container.clone(),
            gone,
        })
    }
}

/// Where the process `pid` runs: in `container` by its `/proc/PID/cgroup`
/// while it lives, else by the followed processes, if any.
fn place_of(
    proc_root: &Path,
    pid: u32,
    container: &ContainerSelector,
    followed: Option<&dyn FollowProcesses>,
) -> PidPlace {
    match fs::read_to_string(proc_root.join(pid.to_string()).join("cgroup")) {
        Ok(text) if container.matches(&text) => {
            if let Some(followed) = followed {
                followed.insert(pid);
            }
            PidPlace::InContainer
        }
        Ok(_) => PidPlace::Elsewhere,
        Err(_) if followed.is_some_and(|f| f.contains(pid)) => PidPlace::InContainer,
        Err(_) => PidPlace::Gone,
    }
}

/// Whether a `/proc/PID/cgroup` text puts the process in a cgroup named
/// after `container` (an id or id prefix): runtimes name the container's
/// group `<id>`, `docker-<id>.scope`, `cri-containerd-<id>.scope`,
/// `crio-<id>.scope` or `libpod-<id>`.
pub fn cgroup_matches(cgroup_file: &str, container: &str) -> bool {
    if container.is_empty() {
        return false;
    }
    cgroup_file
        .lines()
        .filter_map(|line| line.splitn(3, ':').nth(2))
        .flat_map(|path| path.split('/'))
        .any(|segment| {
            let segment = segment.strip_suffix(".scope").unwrap_or(segment);
            let id = ["docker-", "cri-containerd-", "crio-", "libpod-"]
                .iter()
                .find_map(|p| segment.strip_prefix(p))
                .unwrap_or(segment);
            id.starts_with(container) && !segment.starts_with("libpod-conmon-")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::record::{ArchField, SyscallField, Text};

    fn rec(pid: u32, comm: &'static [u8]) -> SeccompRecord<'static> {
        SeccompRecord {
            arch: ArchField::Audit(0xc000003e),
            syscall: SyscallField::Number(1),
            compat: Some(false),
            action: SeccompAction::Log,
            code: Some(0x7ffc0000),
            pid: Some(pid),
            comm: Some(Text::Quoted(comm)),
            exe: Some(Text::Hex(b"2F62696E2F7368")),
            uid: None,
            sig: None,
            stamp: Some(crate::logs::record::AuditStamp {
                secs: 100,
                millis: 0,
                serial: 1,
            }),
            prefix: b"",
        }
    }

    fn filter(options: FilterOptions) -> Filter {
        Filter::new(options, TimeZone::UTC)
    }

    #[test]
    fn pid_comm_exe() {
        let mut f = filter(FilterOptions {
            pids: vec![5, 6],
            ..Default::default()
        });
        assert_eq!(f.check(&rec(5, b"a")), Ok(()));
        assert_eq!(f.check(&rec(7, b"a")), Err(FilterReason::Pid));
        let mut f = filter(FilterOptions {
            comms: vec!["sh".into()],
            exclude_comms: vec!["runc:[2:INIT]".into()],
            exes: vec!["/bin/sh".into()],
            ..Default::default()
        });
        assert_eq!(f.check(&rec(1, b"sh")), Ok(()));
        assert_eq!(f.check(&rec(1, b"ls")), Err(FilterReason::Comm));
        let mut f = filter(FilterOptions {
            exclude_comms: vec!["runc:[2:INIT]".into()],
            ..Default::default()
        });
        assert_eq!(
            f.check(&rec(1, b"runc:[2:INIT]")),
            Err(FilterReason::ExcludedComm)
        );
    }

    #[test]
    fn time_and_action() {
        let mut f = filter(FilterOptions {
            since: Some(50),
            until: Some(99),
            ..Default::default()
        });
        assert_eq!(f.check(&rec(1, b"a")), Err(FilterReason::AfterUntil));
        let mut f = filter(FilterOptions {
            since: Some(101),
            ..Default::default()
        });
        assert_eq!(f.check(&rec(1, b"a")), Err(FilterReason::BeforeSince));
        let mut f = filter(FilterOptions {
            actions: vec![ActionFilter::Errno, ActionFilter::Kill],
            ..Default::default()
        });
        assert_eq!(f.check(&rec(1, b"a")), Err(FilterReason::Action));
        assert!("KILL-PROCESS".parse::<ActionFilter>().is_ok());
        assert!(
            "nope"
                .parse::<ActionFilter>()
                .unwrap_err()
                .contains("user_notif")
        );
    }

    #[test]
    fn container_cgroups() {
        let id = "4f6c9a1b2c3d";
        assert!(cgroup_matches(&format!("0::/docker/{id}\n"), "4f6c"));
        assert!(cgroup_matches(
            &format!("12:pids:/system.slice/docker-{id}.scope\n0::/x\n"),
            id
        ));
        assert!(cgroup_matches(
            &format!("0::/kubepods/burstable/pod1/cri-containerd-{id}.scope\n"),
            "4f6c9"
        ));
        assert!(cgroup_matches(
            &format!("0::/libpod_parent/libpod-{id}\n"),
            id
        ));
        assert!(!cgroup_matches(
            &format!("0::/libpod_parent/libpod-conmon-{id}\n"),
            id
        ));
        assert!(!cgroup_matches("0::/user.slice\n", "4f6c"));
        assert!(!cgroup_matches("0::/docker/abc\n", ""));
    }

    #[test]
    fn a_resolved_container_matches_its_cgroup_and_below() {
        let c = ContainerSelector {
            query: "web".into(),
            id: "4f6c9a1b2c3d".into(),
            cgroup: Some("/system.slice/docker-4f6c9a1b2c3d.scope".into()),
        };
        assert!(c.matches("0::/system.slice/docker-4f6c9a1b2c3d.scope\n"));
        assert!(c.matches("0::/system.slice/docker-4f6c9a1b2c3d.scope/init\n"));
        assert!(!c.matches("0::/system.slice/docker-5e7d9a1b2c3d.scope\n"));
        assert!(!c.matches("0::/user.slice\n"));
        // A runc container by hand: its cgroup need not name it.
        let runc = ContainerSelector {
            query: "web".into(),
            id: "web".into(),
            cgroup: Some("/machine/pods/x".into()),
        };
        assert!(runc.matches("0::/machine/pods/x\n"));
    }

    #[test]
    fn container_of_gone_pid() {
        let mut f = filter(FilterOptions {
            container: Some(ContainerSelector::id_prefix("abc")),
            ..Default::default()
        });
        f.proc_root = "/nonexistent-proc".into();
        assert_eq!(f.check(&rec(1, b"a")), Err(FilterReason::PidGone));
        let mut f = filter(FilterOptions {
            container: Some(ContainerSelector::id_prefix("abc")),
            ..Default::default()
        });
        // This test process runs in no container named abc.
        assert_eq!(
            f.check(&rec(std::process::id(), b"a")),
            Err(FilterReason::OtherContainer)
        );
    }
}
