//! Processes: starting a command (clone3 or fork, then exec), waiting for
//! it, signalling it, pidfds, and the limits and roles of the recorder's
//! own process.
//!
//! Between fork and exec the recorder has threads already, so the child
//! may only make async-signal-safe calls: no allocation, no locks. All
//! that code is here ([`clone_into_cgroup`], [`fork_exec`], [`fork_child`],
//! and the [`ForkSafe`] hooks of [`run_before_exec`]).

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use super::{check, check_long};

/// Code that may run in a child between fork and exec, in a process that
/// has other threads.
///
/// # Safety
/// [`ForkSafe::run`] must be async-signal-safe: raw syscalls only, no
/// allocation, no locks, nothing that another thread may have held at the
/// fork.
pub unsafe trait ForkSafe {
    fn run(&self) -> io::Result<()>;
}

/// Has `cmd`'s child run `hook` after the fork, before the exec; an error
/// fails the spawn with it.
pub fn run_before_exec(cmd: &mut Command, hook: impl ForkSafe + Send + Sync + 'static) {
    // SAFETY: ForkSafe promises that `run` is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || hook.run());
    }
}

/// Forks a child that runs `hook` and exits, 0 when it succeeded and 1
/// when not, without running any destructor; returns its pid.
pub fn fork_child(hook: &impl ForkSafe) -> io::Result<i32> {
    // SAFETY: the child only runs the ForkSafe hook (async-signal-safe by
    // its contract) and _exit.
    let pid = check(unsafe { libc::fork() })?;
    if pid == 0 {
        let code = if hook.run().is_ok() { 0 } else { 1 };
        // SAFETY: _exit ends the child without running the parent's
        // destructors or atexit handlers.
        unsafe { libc::_exit(code) }
    }
    Ok(pid)
}

/// getppid(2) as a raw syscall, for a hook that has a filter log one.
pub fn raw_getppid() {
    // SAFETY: getppid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_getppid) };
}

/// Everything the child needs to exec, prepared before forking: the child
/// must not allocate.
pub struct ExecImage {
    program: CString,
    // Own the strings the pointer arrays point into.
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    _envp: Vec<CString>,
    envp_ptrs: Vec<*const libc::c_char>,
}

impl ExecImage {
    /// `program` with `args` (`argv[0]` included) and the recorder's
    /// environment.
    pub fn new(program: &Path, args: &[OsString]) -> io::Result<ExecImage> {
        let c = |s: &OsStr| {
            CString::new(s.as_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "argument contains NUL"))
        };
        let program = c(program.as_os_str())?;
        let argv = args.iter().map(|a| c(a)).collect::<io::Result<Vec<_>>>()?;
        let envp = std::env::vars_os()
            .map(|(k, v)| {
                let mut kv = k;
                kv.push("=");
                kv.push(v);
                c(&kv)
            })
            .collect::<io::Result<Vec<_>>>()?;
        let ptrs = |v: &[CString]| {
            v.iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        Ok(ExecImage {
            argv_ptrs: ptrs(&argv),
            envp_ptrs: ptrs(&envp),
            program,
            _argv: argv,
            _envp: envp,
        })
    }
}

/// `struct clone_args` of clone3(2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_PIDFD: u64 = 0x1000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Starts `image` in the cgroup whose directory is `cgroup`
/// (clone3(CLONE_INTO_CGROUP | CLONE_PIDFD)): its pid and pidfd. A failed
/// exec writes its errno to `exec_error`. ENOSYS, EINVAL or E2BIG say the
/// kernel lacks it (before 5.7).
pub fn clone_into_cgroup(
    image: &ExecImage,
    cgroup: &File,
    exec_error: BorrowedFd<'_>,
) -> io::Result<(i32, OwnedFd)> {
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: CLONE_PIDFD | CLONE_INTO_CGROUP,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM behaves like fork; the child only runs
    // `exec_child`, which makes raw syscalls and never returns.
    let pid = check_long(unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            size_of::<CloneArgs>(),
        )
    })?;
    if pid == 0 {
        // SAFETY: in the child, which has nothing else to do.
        unsafe { exec_child(image, -1, exec_error.as_raw_fd()) }
    }
    // SAFETY: the fresh pidfd clone3 wrote, owned by nobody else.
    Ok((pid as i32, unsafe { OwnedFd::from_raw_fd(pidfd) }))
}

/// Starts `image` with fork(2); the child joins a cgroup by writing to
/// its `cgroup.procs` (`join`) before the exec. A failed join or exec
/// writes its errno to `exec_error`.
pub fn fork_exec(image: &ExecImage, join: &File, exec_error: BorrowedFd<'_>) -> io::Result<i32> {
    // SAFETY: the child only runs `exec_child`, which makes raw syscalls and
    // never returns.
    let pid = check(unsafe { libc::fork() })?;
    if pid == 0 {
        // SAFETY: in the child, which has nothing else to do.
        unsafe { exec_child(image, join.as_raw_fd(), exec_error.as_raw_fd()) }
    }
    Ok(pid)
}

/// The child side: optionally join the cgroup, restore what the recorder
/// changed (signal mask, SIGPIPE), exec. Only async-signal-safe calls.
///
/// # Safety
/// Only in a child just forked, which it ends.
unsafe fn exec_child(image: &ExecImage, join_fd: libc::c_int, err_fd: libc::c_int) -> ! {
    unsafe {
        let fail = |errno: i32| -> ! {
            let bytes = errno.to_ne_bytes();
            libc::write(err_fd, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127)
        };
        if join_fd >= 0 && libc::write(join_fd, b"0".as_ptr().cast(), 1) != 1 {
            fail(*libc::__errno_location());
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::execve(
            image.program.as_ptr(),
            image.argv_ptrs.as_ptr(),
            image.envp_ptrs.as_ptr(),
        );
        fail(*libc::__errno_location())
    }
}

/// waitpid(2) for the child `pid`: its wait status once it has ended;
/// `None` while it runs, with `no_hang`.
pub fn waitpid(pid: i32, no_hang: bool) -> io::Result<Option<libc::c_int>> {
    let mut status = 0;
    let flags = if no_hang { libc::WNOHANG } else { 0 };
    // SAFETY: waitpid writes the status into an int of ours.
    let reaped = check(unsafe { libc::waitpid(pid, &mut status, flags) })?;
    Ok((reaped != 0).then_some(status))
}

/// kill(2): sends `signal` to `pid` (0 only checks that it may).
pub fn kill(pid: i32, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: plain kill(2) with integer arguments.
    check(unsafe { libc::kill(pid, signal) })?;
    Ok(())
}

/// A pidfd of `pid` (pidfd_open(2), Linux 5.3), readable once it exits.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open(2) with no flags; the fd is owned below.
    let fd = check_long(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: a fresh fd from the kernel, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Makes the recorder the reaper of its orphaned descendants
/// (PR_SET_CHILD_SUBREAPER).
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: plain prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })?;
    Ok(())
}

/// Lifts RLIMIT_MEMLOCK, which eBPF maps counted against before 5.11.
pub fn unlimit_memlock() -> io::Result<()> {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads a valid rlimit.
    check(unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) })?;
    Ok(())
}
