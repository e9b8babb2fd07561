//! `recorder record`: run a command in a fresh cgroup and capture its syscalls.
//!
//! The child joins the new cgroup between fork and exec (it writes "0" to the
//! cgroup's `cgroup.procs`), and the recording is armed to start at its first
//! exec, so the recorder's own work in the child is never recorded while the
//! exec and everything after it (threads, forks, exec chains) is.

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::bpf::{
    AttachKind, BpfError, LoadOptions, ProgramStats, RecordingId, Seen, Start, SyscallRecorder,
};
use crate::cgroup::{Cgroup2Mount, CgroupError, OwnedCgroup};
use crate::self_confine::{self, Confinement, Role, SelfConfineError, Write};
pub use crate::session::stderr_is_terminal;
use crate::session::{ForwardedSignal, StatusLine, catch_signals, seccomp_mode, wait_for_exit};
use crate::spawn::{Spawned, spawn_in_cgroup, try_wait};
use crate::sys::process;

/// Errors of a recording run.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{0}: command not found")]
    CommandNotFound(String),
    #[error("{0}: permission denied (not executable)")]
    NotExecutable(String),
    #[error(transparent)]
    Bpf(#[from] BpfError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error("starting {command}")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },
    #[error("waiting for the command")]
    Wait(#[source] io::Error),
    #[error(transparent)]
    SelfConfine(#[from] SelfConfineError),
}

impl RecordError {
    /// The exit status a shell would give for this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            RecordError::CommandNotFound(_) => 127,
            RecordError::NotExecutable(_) => 126,
            _ => 1,
        }
    }
}

/// How to run a recording.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    /// The command and its arguments.
    pub command: Vec<OsString>,
    /// Wait until every process in the cgroup is gone, not only the child.
    pub wait_all: bool,
    /// Force a hook kind (tests and benchmarks).
    pub attach: Option<AttachKind>,
    /// Capture the arguments that matter (`--args`).
    pub args: bool,
    /// Show a live status line on stderr.
    pub status_line: bool,
    /// How the recorder lowers itself once the command runs.
    pub confinement: Confinement,
    /// Where it writes afterwards (the profile), for the capabilities it
    /// keeps.
    pub writes: Vec<Write>,
}

/// What a recording produced.
#[derive(Debug)]
pub struct RecordOutcome {
    pub seen: Seen,
    /// The exit code to pass on: the child's, or 128 + signal.
    pub exit_code: i32,
    /// The recording was cut short by a signal to the recorder.
    pub interrupted: bool,
    /// The kernel's run time and count of the program, when bpf stats are on.
    pub program_stats: Option<ProgramStats>,
    /// Processes still in the cgroup when the command exited (without
    /// `wait_all`): they run on, unrecorded.
    pub left_running: usize,
}

/// Runs `options.command` in a new cgroup and records it.
pub fn record(options: &RecordOptions) -> Result<RecordOutcome, RecordError> {
    // Where start-up time goes, at debug level (-vv).
    let clock = Instant::now();
    let stage = |what: &str| log::debug!("record: {what} after {:.1?}", clock.elapsed());
    let program = resolve_program(&options.command[0])?;
    let confinement = self_confine::prepare(Role::Record, &options.confinement)?;
    warn_if_under_seccomp();
    let mut recorder = SyscallRecorder::load_options(LoadOptions {
        attach: options.attach,
        args: options.args,
        ..LoadOptions::default()
    })?;
    log::debug!("hook: {}", recorder.attach_kind());
    stage("program attached");
    let mount = Cgroup2Mount::find()?;
    crate::cgroup::remove_leftovers(&mount);
    let mut cgroup = OwnedCgroup::create(&mount, &format!("rec-{}", std::process::id()))?;
    let recording = recorder.start(cgroup.id(), Start::AtFirstExec)?;
    stage("recording armed");

    // Catch signals before the child exists so no signal is lost.
    let signals = catch_signals();
    let child = spawn_in_cgroup(
        &program,
        &options.command,
        cgroup.path(),
        &cgroup.procs_file(),
    )
    .map_err(|source| match source.raw_os_error() {
        Some(libc::ENOENT) => RecordError::CommandNotFound(shown(options)),
        Some(libc::EACCES) => RecordError::NotExecutable(shown(options)),
        _ => RecordError::Spawn {
            command: shown(options),
            source,
        },
    })?;
    stage("command started");
    // The command runs with the recorder's privileges and no filter of its
    // own; from here on the recorder only reads its recording, passes
    // signals on, removes its cgroup and writes the profile.
    confinement.apply(&options.writes);
    let signals = signals.forward();
    let result = supervise(child, &cgroup, &recorder, recording, options, &signals);
    stage("command ended");
    let seen = recorder.stop(recording)?;
    let program_stats = recorder.program_stats();
    if let Err(e) = cgroup.remove() {
        log::warn!("{e}", e = crate::messages::Chain(&e));
    }
    drop(recorder);
    stage("program detached");
    let Ended {
        exit_code,
        interrupted,
        left_running,
    } = result?;
    Ok(RecordOutcome {
        seen,
        exit_code,
        interrupted,
        program_stats,
        left_running,
    })
}

fn shown(options: &RecordOptions) -> String {
    options.command[0].to_string_lossy().into_owned()
}

/// Finds the program like a shell does, so that "not found" is reported
/// before anything runs and the child execs exactly once.
pub(crate) fn resolve_program(name: &OsString) -> Result<PathBuf, RecordError> {
    let shown = name.to_string_lossy().into_owned();
    let path = if name.to_string_lossy().contains('/') {
        PathBuf::from(name)
    } else {
        which::which(name).map_err(|_| RecordError::CommandNotFound(shown.clone()))?
    };
    let meta = std::fs::metadata(&path).map_err(|_| RecordError::CommandNotFound(shown.clone()))?;
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| RecordError::CommandNotFound(shown.clone()))?;
    if meta.is_dir() || !crate::sys::fs::executable(&c) {
        return Err(RecordError::NotExecutable(shown));
    }
    Ok(path)
}

/// A seccomp filter on the recorder is inherited by the child, and syscalls
/// it denies never reach the tracepoint.
fn warn_if_under_seccomp() {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(mode) = seccomp_mode(&status)
        && mode != 0
    {
        crate::messages::about_profile(format_args!(
            "warning: running under a seccomp filter (mode {mode}); syscalls it denies never reach the tracepoint and cannot be recorded"
        ));
    }
}

/// How the supervised command ended.
struct Ended {
    exit_code: i32,
    interrupted: bool,
    /// Processes left in the cgroup as the command exited (not counted with
    /// `--wait-all`, which waits for them).
    left_running: usize,
}

/// Waits for the child (and with `--wait-all` for the whole cgroup), passing
/// signals on and drawing the status line.
fn supervise(
    child: Spawned,
    cgroup: &OwnedCgroup,
    recorder: &SyscallRecorder,
    recording: RecordingId,
    options: &RecordOptions,
    signals: &Receiver<ForwardedSignal>,
) -> Result<Ended, RecordError> {
    let started = Instant::now();
    let pid = child.pid;
    let mut status_line = options.status_line.then(StatusLine::new);
    let mut interrupted = false;
    let mut interrupts = 0;
    let mut exit_code: Option<i32> = None;
    loop {
        while let Ok(sig) = signals.try_recv() {
            interrupted = true;
            interrupts += 1;
            // A terminal's signal already reached the foreground process
            // group; a signal sent to the recorder alone goes on to the whole
            // recorded workload, as `timeout` does for its process group.
            if !sig.from_terminal || exit_code.is_some() {
                // A process that is gone already needs no signal.
                if exit_code.is_none() {
                    let _ = process::kill(pid, sig.signal);
                }
                for p in cgroup.pids() {
                    let _ = process::kill(p, sig.signal);
                }
            }
        }
        if exit_code.is_none() {
            exit_code = try_wait(pid).map_err(RecordError::Wait)?;
        }
        if let Some(code) = exit_code {
            let done = !options.wait_all || !cgroup.is_populated() || interrupts >= 2;
            if done {
                if let Some(line) = status_line.as_mut() {
                    line.clear();
                }
                let left_running = if options.wait_all {
                    0
                } else {
                    cgroup.pids().len()
                };
                return Ok(Ended {
                    exit_code: code,
                    interrupted,
                    left_running,
                });
            }
        }
        if let Some(line) = status_line.as_mut() {
            let count = recorder.seen(recording).map(|s| s.len()).unwrap_or(0);
            line.draw(started.elapsed(), count);
        }
        let running = exit_code.is_none();
        wait_for_exit(
            child.pidfd.as_ref().filter(|_| running),
            Duration::from_millis(100),
            Duration::from_millis(if running { 10 } else { 50 }),
        );
    }
}
