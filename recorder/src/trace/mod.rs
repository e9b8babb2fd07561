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
//! A trace goes through three stages, one module each: [`attach`] to a
//! running container, process or cgroup; or [`wait`] for one that does not
//! run yet, recording it from its first syscall; then [`supervise`] it until
//! it ends. Waiting shares [`crate::triage`] with the daemon: every cgroup
//! created from then on is recorded from its first syscall and told while
//! it lives, so a container that exits at once is still found by its name.
//! Where a `recorder daemon` runs, a container is traced through it
//! ([`trace_via_daemon`]) instead.

mod attach;
mod supervise;
mod via_daemon;
mod wait;

pub use via_daemon::trace_via_daemon;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use crate::bpf::{AttachKind, BpfError, LoadOptions, RecordingId, Scope, Seen, SyscallRecorder};
use crate::cgroup::{Cgroup2Mount, CgroupError, CgroupId, id_of_dir};
use crate::container::{self, Container, HostLayout, ResolveError, cgroup_names};
use crate::self_confine::{self, Confinement, Role, SelfConfineError, Write};
use crate::session::{ForwardedSignal, catch_signals};

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
    /// Give up waiting after this long.
    pub timeout: Option<Duration>,
    /// Stop this long after recording began.
    pub duration: Option<Duration>,
    /// Created once the recorder waits, for scripts to start the container.
    pub ready_file: Option<PathBuf>,
    pub attach: Option<AttachKind>,
    /// Capture the arguments that matter (`--args`).
    pub args: bool,
    pub status_line: bool,
    /// No notes on stderr (`waiting for ...`, `recording ... from now on`);
    /// warnings still.
    pub quiet: bool,
    /// Where engines keep their state; `None` for this host.
    pub layout: Option<HostLayout>,
    /// How the recorder lowers itself once its program is attached.
    pub confinement: Confinement,
    /// Where it writes afterwards (the profile, the ready file), for the
    /// capabilities it keeps.
    pub writes: Vec<Write>,
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
    #[error(
        "{0}, which cannot be recorded (the kernel side never records it): record the command with `recorder record -o FILE -- CMD`, or move the process into a cgroup of its own first"
    )]
    RootCgroup(String),
    #[error("{0} runs but its cgroup is unknown: record it with --pid or --cgroup")]
    NoCgroup(String),
    #[error("interrupted while waiting for {0}")]
    InterruptedWaiting(String),
    #[error("gave up waiting for {what} after {} (--timeout)", crate::logs::time::format_duration(*.after))]
    WaitTimedOut { what: String, after: Duration },
    #[error(
        "{0}'s cgroup appeared while every recording slot was taken by other new cgroups: try again when fewer containers start at once"
    )]
    Missed(String),
    #[error("creating the ready file {path}")]
    ReadyFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Daemon(crate::daemon::client::ClientError),
    #[error(transparent)]
    Bpf(#[from] BpfError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    SelfConfine(#[from] SelfConfineError),
}

/// Records `options.target` until it exits, a signal arrives, or the
/// duration passes.
pub fn trace(options: &TraceOptions) -> Result<TraceOutcome, TraceError> {
    let confinement = self_confine::prepare(Role::Trace, &options.confinement)?;
    let mount = Cgroup2Mount::find()?;
    let layout = options
        .layout
        .clone()
        .unwrap_or_else(|| HostLayout::host(&mount.root));
    let mut recorder = SyscallRecorder::load_options(LoadOptions {
        attach: options.attach,
        args: options.args,
        ..LoadOptions::default()
    })?;
    log::debug!("hook: {}", recorder.attach_kind());
    // Handlers first: a Ctrl-C while waiting must end the wait, not us.
    let signals = catch_signals();
    // From here on the recorder reads runtime state and /proc, and its
    // maps through the fds it holds.
    confinement.apply(&options.writes);
    let signals = signals.forward();
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
    /// Relative to the cgroup2 mount; `None` when it was gone before it
    /// could be looked up (a container that ended at once): the recording
    /// is over then.
    cgroup: Option<PathBuf>,
    container: Option<Container>,
    from_start: bool,
    /// End when this process exits (`--pid`), not when the cgroup empties.
    process: Option<i32>,
    /// Its cgroup had a process already (a container whose cgroup's first
    /// syscall started the recording): an empty cgroup means it ended,
    /// even before supervision began.
    populated: bool,
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
    /// A note on stderr, unless `--quiet`.
    fn note(&self, message: std::fmt::Arguments<'_>) {
        if !self.options.quiet {
            crate::messages::notice(message);
        }
    }

    /// Prints the line scripts wait for (`waiting for container X`) and
    /// creates the ready file.
    fn announce_waiting(&self, what: &str) -> Result<(), TraceError> {
        self.note(format_args!("waiting for {what}"));
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

    /// How to record running container process `pid` (see
    /// [`crate::triage::running_scope`]).
    fn scope_of(&self, pid: i32) -> Scope {
        crate::triage::running_scope(self.layout, self.recorder.reads_mount_ns(), pid)
    }

    /// The mount namespace of the runtime running container process `pid`
    /// (see [`crate::triage::runtime_mount_ns`]).
    fn runtime_mount_ns_of(&self, pid: i32) -> Option<u64> {
        crate::triage::runtime_mount_ns(self.layout, self.recorder.reads_mount_ns(), pid)
    }
}
