//! `recorder trace`: record a container, or the cgroup of a process or a
//! cgroup, that the recorder did not start.
//!
//! The workload of a container is what runs inside it after its runtime
//! execs the container's process: the kernel side counts only tasks outside
//! the host's pid namespace or in a mount namespace other than the
//! runtime's, and starts at the first exec made by one ([`Scope::Container`]),
//! so the runtime's setup (mount, pivot_root, sethostname, keyctl, ...)
//! stays out of the profile. The mount namespace covers containers in the
//! host's pid namespace (`hostPID`). What the runtime itself
//! does after it installs the seccomp filter is added from its base profile
//! (`container::base`).
//!
//! A running container is recorded from the moment it is found. One that does
//! not run yet is recorded from its first syscall with `--wait`: before
//! saying it waits, the recorder lets the kernel side start a recording for
//! every cgroup created from then on at that cgroup's first syscall
//! ([`SyscallRecorder::record_new_cgroups`]); once the runtime's state names
//! the container's cgroup, that recording is kept and the others end. The
//! runtime can never be faster than the recorder, however soon it starts.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::bpf::{AttachKind, BpfError, RecordingId, Scope, Seen, Start, SyscallRecorder};
use crate::cgroup::{Cgroup2Mount, CgroupError, CgroupId, OwnedCgroup, id_of_dir};
use crate::cgroup_watch::CgroupWatch;
use crate::container::{self, Container, HostLayout, ResolveError, Status, cgroup_names};
use crate::session::{ForwardedSignal, StatusLine, forward_signals, seccomp_mode, wait_for_exit};
use crate::spawn::pidfd_open;

/// What to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A container by id, unique id prefix or name.
    Container(String),
    /// The cgroup a process is in, until the process exits.
    Pid(i32),
    /// A cgroup, relative to the cgroup2 mount or as a path below it.
    Cgroup(PathBuf),
}

/// How to trace.
#[derive(Clone, Debug)]
pub struct TraceOptions {
    pub target: Target,
    /// Wait for a container (or cgroup) that does not run (exist) yet.
    pub wait: bool,
    /// Stop this long after recording began.
    pub duration: Option<Duration>,
    /// Created once the recorder waits, for scripts to start the container.
    pub ready_file: Option<PathBuf>,
    pub attach: Option<AttachKind>,
    pub status_line: bool,
    /// Where engines keep their state; `None` for this host.
    pub layout: Option<HostLayout>,
}

/// Why a trace ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceEnd {
    /// The container's processes (or the traced process) are gone.
    Exited,
    /// A signal (Ctrl-C) ended it.
    Interrupted,
    /// `--duration` passed.
    DurationElapsed,
}

/// What a trace produced.
#[derive(Debug)]
pub struct TraceOutcome {
    pub seen: Seen,
    /// The container recorded, when the target is (or is in) one.
    pub container: Option<Container>,
    /// The cgroup recorded, relative to the cgroup2 mount.
    pub cgroup: PathBuf,
    /// Recorded from the first syscall of its workload, not from the middle.
    pub from_start: bool,
    pub end: TraceEnd,
    /// A process of the target ran under a seccomp filter while recorded.
    pub confined: Option<ConfinedProcess>,
}

/// A recorded process that runs under a seccomp filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfinedProcess {
    pub pid: i32,
    /// `Seccomp:` of /proc/PID/status: 1 strict, 2 filter.
    pub mode: u32,
}

/// Errors of a trace.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("{0} has not started: use --wait to record it from its start")]
    NotStarted(String),
    #[error("no process {0} (is it running?)")]
    NoSuchProcess(i32),
    #[error(
        "no cgroup {path} under {mount}: give a path relative to the cgroup2 mount, or use --wait"
    )]
    NoSuchCgroup { path: PathBuf, mount: PathBuf },
    #[error("{0} runs but its cgroup is unknown: record it with --pid or --cgroup")]
    NoCgroup(String),
    #[error("interrupted while waiting for {0}")]
    InterruptedWaiting(String),
    #[error(
        "{0}'s cgroup appeared while every recording slot was taken by other new cgroups: try again when fewer containers start at once"
    )]
    Missed(String),
    #[error("watching {mount} for new cgroups: {source}")]
    Watch {
        mount: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("creating the ready file {path}: {source}")]
    ReadyFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Bpf(#[from] BpfError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
}

/// Records `options.target` until it exits, a signal arrives, or the
/// duration passes.
pub fn trace(options: &TraceOptions) -> Result<TraceOutcome, TraceError> {
    let mount = Cgroup2Mount::find()?;
    let layout = options
        .layout
        .clone()
        .unwrap_or_else(|| HostLayout::host(&mount.root));
    let mut recorder = SyscallRecorder::load_with(options.attach)?;
    log::debug!("hook: {}", recorder.attach_kind());
    // Handlers first: a Ctrl-C while waiting must end the wait, not us.
    let signals = forward_signals();
    let mut session = Session {
        recorder: &mut recorder,
        layout: &layout,
        mount: &mount,
        options,
        signals: &signals,
    };
    let attached = match &options.target {
        Target::Container(query) => session.attach_container(query)?,
        Target::Pid(pid) => session.attach_pid(*pid)?,
        Target::Cgroup(path) => session.attach_cgroup(path)?,
    };
    session.create_ready_file()?;
    session.supervise(attached)
}

/// A recording under way, and how to tell it is over.
struct Attached {
    recordings: Vec<RecordingId>,
    cgroup: PathBuf,
    container: Option<Container>,
    from_start: bool,
    /// End when this process exits (`--pid`), not when the cgroup empties.
    process: Option<i32>,
}

struct Session<'a> {
    recorder: &'a mut SyscallRecorder,
    layout: &'a HostLayout,
    mount: &'a Cgroup2Mount,
    options: &'a TraceOptions,
    signals: &'a Receiver<ForwardedSignal>,
}

/// How often the recorder looks at runtime state and cgroups. The kernel
/// side records regardless; this only bounds how late a container's end is
/// noticed.
const POLL: Duration = Duration::from_millis(50);

impl Session<'_> {
    fn attach_container(&mut self, query: &str) -> Result<Attached, TraceError> {
        let containers = container::list(self.layout);
        let found = match container::find(&containers, query) {
            Ok(c) => Some(c.clone()),
            Err(ResolveError::NotFound(_)) if self.options.wait => None,
            Err(e) => return Err(e.into()),
        };
        match found {
            Some(c) if c.status == Status::Running => {
                let cgroup = c
                    .cgroup
                    .clone()
                    .ok_or_else(|| TraceError::NoCgroup(query.to_string()))?;
                let scope = c.pid.map_or(
                    Scope::Container {
                        runtime_mount_ns: None,
                    },
                    |pid| self.scope_of(pid),
                );
                let id = self.existing_cgroup(&cgroup)?;
                let recording = self.recorder.start_scoped(id, Start::Now, scope)?;
                eprintln!(
                    "recorder: {} is already running: recording from now on (what it did before is not in the profile)",
                    c.describe()
                );
                Ok(Attached {
                    recordings: vec![recording],
                    cgroup,
                    container: Some(c),
                    from_start: false,
                    process: None,
                })
            }
            // runc/crun `create`d it: the init waits to exec the workload.
            Some(c) if c.status == Status::Created && c.pid.is_some() && c.cgroup.is_some() => {
                let cgroup = c.cgroup.clone().unwrap_or_default();
                let id = self.existing_cgroup(&cgroup)?;
                let scope = Scope::Container {
                    runtime_mount_ns: c.pid.and_then(|pid| self.runtime_mount_ns_of(pid)),
                };
                let recording = self.recorder.start_scoped(id, Start::AtFirstExec, scope)?;
                self.announce_waiting(&format!("container {query}"))?;
                Ok(Attached {
                    recordings: vec![recording],
                    cgroup,
                    container: Some(c),
                    from_start: true,
                    process: None,
                })
            }
            Some(c) if !self.options.wait => Err(match c.status {
                Status::Exited => ResolveError::Exited(query.to_string()).into(),
                _ => TraceError::NotStarted(query.to_string()),
            }),
            _ => self.wait_for_container(query),
        }
    }

    /// Records every new cgroup from now on, says so, and keeps the
    /// recording of the container `query` names once it appears.
    fn wait_for_container(&mut self, query: &str) -> Result<Attached, TraceError> {
        let mut paths = self.watch_new_cgroups()?;
        let after = self.cgroup_id_now()?;
        self.recorder.record_new_cgroups(
            after,
            Start::AtFirstExec,
            Scope::Container {
                runtime_mount_ns: None,
            },
        )?;
        self.announce_waiting(&format!("container {query}"))?;
        loop {
            if self.signals.try_recv().is_ok() {
                self.recorder.stop_new_cgroups()?;
                return Err(TraceError::InterruptedWaiting(format!("container {query}")));
            }
            let recordings = self.recorder.new_cgroup_recordings()?;
            self.learn_missing(&mut paths, &recordings);
            let containers = container::list(self.layout);
            let c = match container::find(&containers, query) {
                Ok(c) => c.clone(),
                Err(ResolveError::NotFound(_)) => {
                    self.watch_a_moment(&mut paths)?;
                    continue;
                }
                Err(e) => {
                    self.recorder.stop_new_cgroups()?;
                    return Err(e.into());
                }
            };
            let mine: Vec<RecordingId> = recordings
                .iter()
                .copied()
                .filter(|r| paths.path_of(r.root()).is_some_and(|p| belongs_to(p, &c)))
                .collect();
            let live = matches!(c.status, Status::Running | Status::Created) && c.pid.is_some();
            if mine.is_empty() && !live {
                self.watch_a_moment(&mut paths)?;
                continue;
            }
            let mut attached = mine.clone();
            let cgroup = match (&c.cgroup, mine.first()) {
                (Some(cgroup), _) => cgroup.clone(),
                (None, Some(first)) => paths.path_of(first.root()).cloned().unwrap_or_default(),
                (None, None) => {
                    self.recorder.stop_new_cgroups()?;
                    return Err(TraceError::NoCgroup(query.to_string()));
                }
            };
            if mine.is_empty() {
                // Its cgroup has made no syscall yet, or is older than the
                // wait (a runtime that reuses a cgroup): then nothing tells
                // what ran in it before, and it is recorded from now on.
                let dir = self.layout.cgroup_dir(&cgroup);
                if !dir.is_dir() {
                    self.watch_a_moment(&mut paths)?;
                    continue;
                }
                let id = id_of_dir(&dir)?;
                let old = id <= after;
                let start = if old { Start::Now } else { Start::AtFirstExec };
                let scope = Scope::Container {
                    runtime_mount_ns: c.pid.and_then(|pid| self.runtime_mount_ns_of(pid)),
                };
                match self.recorder.start_scoped(id, start, scope) {
                    Ok(r) => attached.push(r),
                    // The kernel side started it a moment ago.
                    Err(BpfError::AlreadyRecorded(_)) => {
                        paths.learn(id, cgroup);
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
                if old {
                    eprintln!(
                        "recorder: warning: {}'s cgroup existed before the wait began: recording from now on",
                        c.describe()
                    );
                }
                if self.recorder.new_cgroups_missed()? > 0 {
                    self.recorder.stop_new_cgroups()?;
                    return Err(TraceError::Missed(query.to_string()));
                }
            }
            for r in &mine {
                self.recorder.keep(*r);
            }
            self.recorder.stop_new_cgroups()?;
            log::info!("recording {} in {}", c.describe(), cgroup.display());
            if c.pid.is_some_and(|pid| self.scope_of(pid) == Scope::All) {
                let shares = if self.recorder.reads_mount_ns() {
                    "shares the host's pid namespace and its runtime's mount namespace"
                } else {
                    "shares the host's pid namespace (and the kernel's mount namespaces cannot be read here)"
                };
                eprintln!(
                    "recorder: warning: {} {shares}, where its runtime's setup cannot be told from its workload: nothing of it is recorded from its start; record it while it runs, or its whole cgroup with --cgroup",
                    c.describe()
                );
            }
            return Ok(Attached {
                recordings: attached,
                cgroup,
                container: Some(c),
                from_start: true,
                process: None,
            });
        }
    }

    fn attach_pid(&mut self, pid: i32) -> Result<Attached, TraceError> {
        let cgroup = container::cgroup_of_pid(&self.layout.proc, pid)
            .ok_or(TraceError::NoSuchProcess(pid))?;
        let id = self.existing_cgroup(&cgroup)?;
        let scope = self.scope_of(pid);
        let recording = self.recorder.start_scoped(id, Start::Now, scope)?;
        let container = self.container_in(&cgroup);
        eprintln!(
            "recorder: recording cgroup {} (process {pid}{}) from now on",
            cgroup.display(),
            container
                .as_ref()
                .map(|c| format!(", container {}", c.describe()))
                .unwrap_or_default()
        );
        Ok(Attached {
            recordings: vec![recording],
            cgroup,
            container,
            from_start: false,
            process: Some(pid),
        })
    }

    fn attach_cgroup(&mut self, path: &Path) -> Result<Attached, TraceError> {
        let cgroup = self.relative_cgroup(path);
        let dir = self.layout.cgroup_dir(&cgroup);
        if dir.is_dir() {
            let id = id_of_dir(&dir)?;
            let recording = self.recorder.start_scoped(id, Start::Now, Scope::All)?;
            eprintln!(
                "recorder: recording cgroup {} from now on",
                cgroup.display()
            );
            return Ok(Attached {
                recordings: vec![recording],
                container: self.container_in(&cgroup),
                cgroup,
                from_start: false,
                process: None,
            });
        }
        if !self.options.wait {
            return Err(TraceError::NoSuchCgroup {
                path: cgroup,
                mount: self.mount.root.clone(),
            });
        }
        let mut paths = self.watch_new_cgroups()?;
        let after = self.cgroup_id_now()?;
        self.recorder
            .record_new_cgroups(after, Start::Now, Scope::All)?;
        self.announce_waiting(&format!("cgroup {}", cgroup.display()))?;
        loop {
            if self.signals.try_recv().is_ok() {
                self.recorder.stop_new_cgroups()?;
                return Err(TraceError::InterruptedWaiting(format!(
                    "cgroup {}",
                    cgroup.display()
                )));
            }
            let recordings = self.recorder.new_cgroup_recordings()?;
            self.learn_missing(&mut paths, &recordings);
            let mine: Vec<RecordingId> = recordings
                .into_iter()
                .filter(|r| {
                    paths
                        .path_of(r.root())
                        .is_some_and(|p| p.starts_with(&cgroup))
                })
                .collect();
            if mine.is_empty() && dir.is_dir() {
                let id = id_of_dir(&dir)?;
                match self.recorder.start_scoped(id, Start::Now, Scope::All) {
                    Ok(r) => {
                        self.recorder.stop_new_cgroups()?;
                        return Ok(self.attached_cgroup(vec![r], cgroup));
                    }
                    Err(BpfError::AlreadyRecorded(_)) => {
                        paths.learn(id, cgroup.clone());
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if !mine.is_empty() {
                for r in &mine {
                    self.recorder.keep(*r);
                }
                self.recorder.stop_new_cgroups()?;
                return Ok(self.attached_cgroup(mine, cgroup));
            }
            self.watch_a_moment(&mut paths)?;
        }
    }

    fn watch_new_cgroups(&self) -> Result<CgroupWatch, TraceError> {
        CgroupWatch::start(&self.mount.root).map_err(|source| TraceError::Watch {
            mount: self.mount.root.clone(),
            source,
        })
    }

    fn watch_a_moment(&self, watch: &mut CgroupWatch) -> Result<(), TraceError> {
        watch.wait(POLL).map_err(|source| TraceError::Watch {
            mount: self.mount.root.clone(),
            source,
        })
    }

    /// The watch knows every new cgroup it saw created; a recording of one
    /// it missed (it cannot, short of an inotify overflow) is looked up in
    /// the tree as it is now.
    fn learn_missing(&self, watch: &mut CgroupWatch, recordings: &[RecordingId]) {
        if recordings.iter().all(|r| watch.path_of(r.root()).is_some()) {
            return;
        }
        let mut ids = BTreeMap::new();
        index_cgroups(&self.mount.root, Path::new("/"), &mut ids);
        for r in recordings {
            if let Some(path) = ids.remove(&r.root()) {
                watch.learn(r.root(), path);
            }
        }
    }

    fn attached_cgroup(&self, recordings: Vec<RecordingId>, cgroup: PathBuf) -> Attached {
        Attached {
            recordings,
            container: self.container_in(&cgroup),
            cgroup,
            from_start: true,
            process: None,
        }
    }

    /// Prints the line scripts wait for (`waiting for container X`) and
    /// creates the ready file.
    fn announce_waiting(&self, what: &str) -> Result<(), TraceError> {
        eprintln!("recorder: waiting for {what}");
        self.create_ready_file()
    }

    /// Creates `--ready-file` once recording is in place (again is fine).
    fn create_ready_file(&self) -> Result<(), TraceError> {
        match &self.options.ready_file {
            Some(path) if !path.exists() => {
                fs::write(path, "").map_err(|source| TraceError::ReadyFile {
                    path: path.clone(),
                    source,
                })
            }
            _ => Ok(()),
        }
    }

    /// An id every cgroup created from now on exceeds: a fresh cgroup's,
    /// since kernfs hands out ids in increasing order.
    fn cgroup_id_now(&self) -> Result<CgroupId, TraceError> {
        let mut probe = OwnedCgroup::create(self.mount, &format!("probe-{}", std::process::id()))?;
        let id = probe.id();
        probe.remove()?;
        Ok(id)
    }

    fn existing_cgroup(&self, cgroup: &Path) -> Result<CgroupId, TraceError> {
        Ok(id_of_dir(&self.layout.cgroup_dir(cgroup))?)
    }

    /// `/sys/fs/cgroup/unified/a/b`, `/a/b` and `a/b` all name `/a/b`.
    fn relative_cgroup(&self, path: &Path) -> PathBuf {
        match path.strip_prefix(&self.mount.root) {
            Ok(rest) => Path::new("/").join(rest),
            Err(_) => Path::new("/").join(path.strip_prefix("/").unwrap_or(path)),
        }
    }

    /// The container a cgroup belongs to, if its name says so.
    fn container_in(&self, cgroup: &Path) -> Option<Container> {
        let named = cgroup_names::container_of(cgroup)?;
        container::list(self.layout)
            .into_iter()
            .find(|c| c.id == named.id)
    }

    /// [`Scope::Container`] for a process in a pid namespace of its own or
    /// in a mount namespace other than its runtime's: then tasks that are
    /// still in the host's (a runtime joining the container) are not the
    /// workload. A process sharing both has no such boundary (nor one in the
    /// mount namespace when the kernel side cannot read it).
    fn scope_of(&self, pid: i32) -> Scope {
        let ns = |p: &Path| fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
        let theirs = ns(&self.layout.proc.join(pid.to_string()).join("ns/pid"));
        let ours = ns(Path::new("/proc/self/ns/pid"));
        let shares_pid_ns = matches!((theirs, ours), (Some(t), Some(o)) if t == o);
        let runtime_mount_ns = self.runtime_mount_ns_of(pid);
        let own_mount_ns = runtime_mount_ns
            .is_some_and(|r| container::mount_ns_of(&self.layout.proc, pid) != Some(r));
        if shares_pid_ns && !own_mount_ns {
            Scope::All
        } else {
            Scope::Container { runtime_mount_ns }
        }
    }

    /// The mount namespace of the runtime running container process `pid`:
    /// its parent's (conmon, a containerd shim, runc), or, where that cannot
    /// be read (a container left to an init that hides its namespaces), the
    /// recorder's own; when the kernel side reads mount namespaces.
    fn runtime_mount_ns_of(&self, pid: i32) -> Option<u64> {
        if !self.recorder.reads_mount_ns() {
            return None;
        }
        container::parent_of(&self.layout.proc, pid)
            .and_then(|parent| container::mount_ns_of(&self.layout.proc, parent))
            .or_else(|| container::mount_ns_of(Path::new("/proc"), std::process::id() as i32))
    }

    fn supervise(&mut self, attached: Attached) -> Result<TraceOutcome, TraceError> {
        let started = Instant::now();
        let deadline = self.options.duration.map(|d| started + d);
        let dir = self.layout.cgroup_dir(&attached.cgroup);
        let pidfd = attached.process.and_then(pidfd_open);
        let mut status_line = self.options.status_line.then(StatusLine::new);
        let mut populated_once = false;
        let mut confined = None;
        let mut container = attached.container.clone();
        let end = loop {
            // A container found through its engine's names before its
            // runtime wrote its state: learn the runtime while it runs.
            if let Some(c) = container.as_mut().filter(|c| c.runtime.is_none()) {
                refresh(self.layout, c);
            }
            if self.signals.try_recv().is_ok() {
                break TraceEnd::Interrupted;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break TraceEnd::DurationElapsed;
            }
            let pids = crate::cgroup::pids_in_tree(&dir);
            if confined.is_none() {
                confined = find_confined(&self.layout.proc, &pids);
                if let Some(p) = confined {
                    eprintln!(
                        "recorder: warning: process {} of {} runs under a seccomp filter (mode {}): the syscalls it denies never reach the recorder; record it unconfined (e.g. --security-opt seccomp=unconfined) for a complete profile",
                        p.pid,
                        container.as_ref().map_or_else(
                            || attached.cgroup.display().to_string(),
                            Container::describe
                        ),
                        p.mode
                    );
                }
            }
            if let Some(pid) = attached.process {
                if !container::is_alive(&self.layout.proc, pid, None) {
                    break TraceEnd::Exited;
                }
            } else if !dir.is_dir() {
                break TraceEnd::Exited;
            } else if container::is_populated(&dir) {
                populated_once = true;
            } else if populated_once {
                break TraceEnd::Exited;
            }
            if let Some(line) = status_line.as_mut() {
                let count = self.seen_so_far(&attached.recordings);
                line.draw(started.elapsed(), count);
            }
            wait_for_exit(pidfd.as_ref(), POLL, POLL);
        };
        if let Some(line) = status_line.as_mut() {
            line.clear();
        }
        let mut seen = Seen::default();
        for r in &attached.recordings {
            seen.extend(&self.recorder.stop(*r)?);
        }
        Ok(TraceOutcome {
            seen,
            container,
            cgroup: attached.cgroup,
            from_start: attached.from_start,
            end,
            confined,
        })
    }

    fn seen_so_far(&self, recordings: &[RecordingId]) -> usize {
        let mut seen = Seen::default();
        for r in recordings {
            if let Ok(s) = self.recorder.seen(*r) {
                seen.extend(&s);
            }
        }
        seen.len()
    }
}

/// Fills in what the engines now know about `c`.
fn refresh(layout: &HostLayout, c: &mut Container) {
    if let Some(now) = container::list(layout).into_iter().find(|n| n.id == c.id) {
        c.runtime = now.runtime;
        if c.no_new_privileges.is_none() {
            c.no_new_privileges = now.no_new_privileges;
        }
    }
}

/// Whether a cgroup path is the container's: its runtime's cgroup or below
/// it, or named after its id.
fn belongs_to(path: &Path, c: &Container) -> bool {
    c.cgroup.as_deref().is_some_and(|own| path.starts_with(own))
        || cgroup_names::container_of(path).is_some_and(|named| named.id == c.id)
}

fn index_cgroups(dir: &Path, relative: &Path, ids: &mut BTreeMap<CgroupId, PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = relative.join(entry.file_name());
        if let Ok(meta) = entry.metadata() {
            ids.insert(CgroupId(meta.ino()), path.clone());
        }
        index_cgroups(&entry.path(), &path, ids);
    }
}

/// The first of `pids` that runs under seccomp.
fn find_confined(proc: &Path, pids: &[i32]) -> Option<ConfinedProcess> {
    pids.iter().find_map(|&pid| {
        let status = fs::read_to_string(proc.join(pid.to_string()).join("status")).ok()?;
        let mode = seccomp_mode(&status)?;
        (mode != 0).then_some(ConfinedProcess { pid, mode })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_confined_processes() {
        let dir = tempfile::tempdir().unwrap();
        for (pid, mode) in [(10, 0), (11, 2)] {
            fs::create_dir_all(dir.path().join(pid.to_string())).unwrap();
            fs::write(
                dir.path().join(pid.to_string()).join("status"),
                format!("Name:\tsh\nSeccomp:\t{mode}\nSeccomp_filters:\t1\n"),
            )
            .unwrap();
        }
        assert_eq!(find_confined(dir.path(), &[10]), None);
        assert_eq!(
            find_confined(dir.path(), &[10, 11, 12]),
            Some(ConfinedProcess { pid: 11, mode: 2 })
        );
    }

    #[test]
    fn container_cgroups_by_path_or_name() {
        let id = "8dbd5bd7637fbc7e3981244782948bf2695be9233ed256cf23c02cf60e7ac3fd";
        let c = Container {
            id: id.into(),
            names: vec!["web".into()],
            engine: container::Engine::Docker,
            runtime: None,
            status: Status::Exited,
            pid: None,
            cgroup: Some(PathBuf::from("/tests/c1")),
            no_new_privileges: None,
        };
        assert!(belongs_to(Path::new("/tests/c1"), &c));
        assert!(belongs_to(Path::new("/tests/c1/sub"), &c));
        assert!(!belongs_to(Path::new("/tests/c10"), &c));
        assert!(belongs_to(Path::new(&format!("/docker/{id}")), &c));
        assert!(!belongs_to(Path::new("/docker"), &c));
    }
}
