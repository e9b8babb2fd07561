//! `recorder run`: run a command under a profile exactly as runc would load
//! it, or in complain mode, where every denial is logged instead and the
//! kernel's audit records tell which syscalls the profile would have denied.
//!
//! The filter ([`filter`]) is compiled before the child is forked and loaded
//! between fork and exec, with no_new_privs set, so the command's execve is
//! the first syscall it filters (as with runc's init). In complain mode the
//! audit records ([`audit`]) are kept when their process descends from the
//! command ([`proc_events`]); after the command exits, a marker process
//! logs one syscall of its own, and once its record arrives every record of
//! the command has arrived too (the kernel delivers them in order).

pub mod audit;
pub mod complaint;
pub mod filter;
pub mod proc_events;

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use self::audit::{AuditError, SeccompLog, SeccompRecord};
use self::complaint::Complaint;
use self::filter::{CompiledFilter, FilterError, compile};
use self::proc_events::{ProcEventsError, ProcessTree};
use crate::arch::Arch;
use crate::profile::{Action, Profile, SyscallRule};
use crate::record::RecordError;
use crate::self_confine::{self, Confinement, Role, SelfConfineError, Write};
use crate::session::{CaughtSignals, catch_signals};
use crate::sys::process::{self, ForkSafe};

/// How long to wait for the marker's record before reporting what came.
const MARKER_TIMEOUT: Duration = Duration::from_secs(5);

/// Errors of `recorder run`.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error(transparent)]
    Program(#[from] RecordError),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    ProcEvents(#[from] ProcEventsError),
    #[error(
        "the kernel does not log SCMP_ACT_LOG ({0} lacks \"log\"): add it, e.g. echo 'kill_process kill_thread trap errno user_notif trace log' > {0}"
    )]
    LogActionOff(&'static str),
    #[error("{command}: the profile denies execve ({source}); add execve to the profile")]
    ExecDenied {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("starting {command}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("waiting for the command")]
    Wait(#[source] std::io::Error),
    #[error("reading audit records and process events")]
    Watch(#[source] std::io::Error),
    #[error(transparent)]
    SelfConfine(#[from] SelfConfineError),
}

/// `recorder run`'s exit status for its own failures, as `docker run` and
/// `env` use: distinct from any status a command is likely to exit with
/// (126 and 127 stay what a shell means by them).
pub const RUN_FAILED: i32 = 125;

impl ConfineError {
    /// The exit status for this failure: 127 and 126 when the command
    /// cannot be found or run, as a shell gives, else [`RUN_FAILED`].
    pub fn exit_code(&self) -> i32 {
        match self {
            ConfineError::Program(RecordError::CommandNotFound(_)) => 127,
            ConfineError::Program(RecordError::NotExecutable(_))
            | ConfineError::ExecDenied { .. } => 126,
            _ => RUN_FAILED,
        }
    }
}

/// What `recorder run` produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// The command's exit code, or 128 + signal.
    pub exit_code: i32,
    /// The signal that ended the command, if one did.
    pub signal: Option<i32>,
    /// In complain mode: what the profile would have denied.
    pub complaint: Option<Complaint>,
    /// In complain mode: the kernel's end marker never arrived, so records
    /// may be missing.
    pub incomplete: bool,
    /// Names libseccomp did not know (runc skips them too).
    pub skipped_names: Vec<String>,
}

/// How `recorder run` runs a command.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Log instead of denying, and report what would have been denied.
    pub complain: bool,
    /// How the recorder lowers itself once the command runs.
    pub confinement: Confinement,
    /// Where it writes afterwards (`--fix`'s profile).
    pub writes: Vec<Write>,
}

/// Runs `command` under `profile` (in complain mode with `complain`).
pub fn run_confined(
    profile: &Profile,
    command: &[OsString],
    options: &RunOptions,
) -> Result<RunOutcome, ConfineError> {
    let complain = options.complain;
    let program = crate::record::resolve_program(&command[0])?;
    let own = self_confine::prepare(Role::Run, &options.confinement)?;
    let loaded = if complain {
        filter::complain(profile)
    } else {
        profile.clone()
    };
    let filter = compile(&loaded, complain)?;
    let skipped_names = filter.skipped.clone();
    let watcher = if complain {
        check_log_action()?;
        Some(Watching::open()?)
    } else {
        None
    };
    let shown = command[0].to_string_lossy().into_owned();
    let mut cmd = Command::new(&program);
    cmd.arg0(&command[0]).args(&command[1..]);
    process::run_before_exec(&mut cmd, LoadFilter(filter));
    let caught = catch_signals();
    let mut child = cmd.spawn().map_err(|source| {
        if matches!(
            source.raw_os_error(),
            Some(libc::EPERM | libc::ENOSYS | libc::EACCES)
        ) && !profile_allows_execve(profile)
        {
            ConfineError::ExecDenied {
                command: shown.clone(),
                source,
            }
        } else {
            ConfineError::Spawn {
                command: shown.clone(),
                source,
            }
        }
    })?;
    // The command runs under its profile alone; from here on the recorder
    // waits, passes signals on and reads what the kernel reports.
    own.apply(&options.writes);
    let watcher = watcher.map(Watching::start);
    let reaped = Arc::new(AtomicBool::new(false));
    forward_signals_to(caught, child.id() as i32, Arc::clone(&reaped));
    let status = child.wait().map_err(ConfineError::Wait);
    reaped.store(true, Ordering::SeqCst);
    let status = status?;
    let signal = status.signal();
    let exit_code = crate::spawn::exit_code(status.into_raw());
    let (complaint, incomplete) = match watcher {
        Some(watcher) => {
            let (records, complete) = watcher.finish()?;
            (
                Some(Complaint::from_records(profile, records, Arch::host())),
                !complete,
            )
        }
        None => (None, false),
    };
    Ok(RunOutcome {
        exit_code,
        signal,
        complaint,
        incomplete,
        skipped_names,
    })
}

fn profile_allows_execve(profile: &Profile) -> bool {
    let e = crate::profile::effective::Effective::of(profile);
    e.treatment("execve").always_runs(e.default)
}

const ACTIONS_LOGGED: &str = "/proc/sys/kernel/seccomp/actions_logged";

fn check_log_action() -> Result<(), ConfineError> {
    match std::fs::read_to_string(ACTIONS_LOGGED) {
        Ok(text) if !text.split_whitespace().any(|a| a == "log") => {
            Err(ConfineError::LogActionOff(ACTIONS_LOGGED))
        }
        _ => Ok(()),
    }
}

/// Passes signals sent to the recorder (not a terminal's, which reached the
/// command already) on to the command until `done` is set, when the command
/// has been reaped and its pid may belong to another process.
fn forward_signals_to(caught: CaughtSignals, pid: i32, done: Arc<AtomicBool>) {
    let signals = caught.forward();
    std::thread::spawn(move || {
        for sig in signals {
            if done.load(Ordering::SeqCst) {
                break;
            }
            if !sig.from_terminal {
                // Our unreaped child: it cannot be gone yet.
                let _ = process::kill(pid, sig.signal);
            }
        }
    });
}

/// The audit and process-event sockets, open before the command starts so
/// that they queue everything it does from its first syscall.
struct Watching {
    log: SeccompLog,
    tree: ProcessTree,
}

impl Watching {
    fn open() -> Result<Watching, ConfineError> {
        Ok(Watching {
            log: SeccompLog::open()?,
            tree: ProcessTree::follow(std::process::id())?,
        })
    }

    /// Reads what the sockets queued, and what comes, on a thread of its
    /// own.
    fn start(self) -> Watcher {
        let Watching { mut log, mut tree } = self;
        let records = Arc::new(Mutex::new(HashSet::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let records = Arc::clone(&records);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let own = std::process::id();
                let mut batch = Vec::new();
                loop {
                    let stopping = stop.load(Ordering::Acquire);
                    // Woken early or not, what is there is read.
                    let _ = crate::sys::fd::poll_readable(
                        [tree.as_fd(), log.as_fd()],
                        Duration::from_millis(50),
                    );
                    // Records first, then process events: a record's
                    // process was forked before it made the syscall, so its
                    // fork event was queued before the record could be read,
                    // and the events read after the records hold it. (The
                    // other way round, a child forked between the two reads
                    // would have its first records dropped.)
                    log.read_pending(&mut batch)?;
                    tree.read_pending()?;
                    let mut kept = records.lock().unwrap_or_else(|e| e.into_inner());
                    kept.extend(
                        batch
                            .drain(..)
                            .filter(|r| r.pid != own && tree.contains(r.pid)),
                    );
                    drop(kept);
                    if stopping {
                        return Ok(!tree.lost_events && !log.lost_records);
                    }
                }
            })
        };
        Watcher {
            records,
            stop,
            thread,
        }
    }
}

/// Reads process events and seccomp records while the command runs.
struct Watcher {
    records: Arc<Mutex<HashSet<SeccompRecord>>>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<std::io::Result<bool>>,
}

impl Watcher {
    /// Waits for the end marker, stops reading, and returns the command's
    /// records and whether they are complete.
    fn finish(self) -> Result<(Vec<SeccompRecord>, bool), ConfineError> {
        let marker = run_marker();
        let started = Instant::now();
        let mut marker_seen = false;
        while let Some(pid) = marker {
            let seen = self
                .records
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|r| r.pid == pid);
            if seen || started.elapsed() > MARKER_TIMEOUT {
                marker_seen = seen;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.stop.store(true, Ordering::Release);
        let events_complete = match self.thread.join() {
            Ok(result) => result.map_err(ConfineError::Watch)?,
            Err(_) => false,
        };
        let records = self
            .records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|r| Some(r.pid) != marker)
            .copied()
            .collect();
        Ok((records, marker_seen && events_complete))
    }
}

/// Forks a process that logs one `getppid` through a filter of its own and
/// exits; returns its pid.
fn run_marker() -> Option<u32> {
    let marker = Profile {
        default_action: Action::Allow,
        default_errno_ret: None,
        architectures: Vec::new(),
        flags: None,
        listener_path: None,
        listener_metadata: None,
        syscalls: vec![SyscallRule::new(["getppid".into()], Action::Log)],
        unknown_fields: Default::default(),
    };
    let filter: CompiledFilter = compile(&marker, false).ok()?;
    let pid = process::fork_child(&Marker(filter)).ok()?;
    // Waiting for our own child.
    let _ = process::waitpid(pid, false);
    Some(pid as u32)
}

/// The child's side of `cmd`: loads the profile's filter before the exec.
struct LoadFilter(CompiledFilter);

// SAFETY: `load` only makes raw prctl and seccomp syscalls, on memory the
// filter allocated before the fork.
unsafe impl ForkSafe for LoadFilter {
    fn run(&self) -> std::io::Result<()> {
        self.0.load()
    }
}

/// The marker's child: loads its filter, then makes the one `getppid` the
/// filter logs, whether or not the load worked.
struct Marker(CompiledFilter);

// SAFETY: raw prctl, seccomp and getppid syscalls only, on memory the
// filter allocated before the fork.
unsafe impl ForkSafe for Marker {
    fn run(&self) -> std::io::Result<()> {
        let loaded = self.0.load();
        process::raw_getppid();
        loaded
    }
}
