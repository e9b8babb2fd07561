//! Starting the recorded command directly inside its cgroup.
//!
//! `clone3(CLONE_INTO_CGROUP)` creates the child in the recording's cgroup,
//! so it never migrates: moving a process between cgroups waits for an RCU
//! grace period (about 20 ms here), which would double the cost of
//! `recorder record -- true`. Kernels before 5.7 lack it; there the child
//! joins by writing to `cgroup.procs` before exec. Either way only raw,
//! async-signal-safe calls run between fork and exec: the recorder has
//! threads by then.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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

/// A started child process.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    /// Readable once the child has exited; `None` on kernels without pidfds.
    pub pidfd: Option<OwnedFd>,
}

/// Everything the child needs, prepared before forking (no allocation
/// happens in the child).
struct ExecImage {
    program: CString,
    // Own the strings the pointer arrays point into.
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    _envp: Vec<CString>,
    envp_ptrs: Vec<*const libc::c_char>,
}

impl ExecImage {
    fn new(program: &Path, args: &[OsString]) -> io::Result<ExecImage> {
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

/// Starts `program` with `args` (`argv[0]` included) in the cgroup whose
/// directory is `cgroup_dir` and whose `cgroup.procs` is `procs`.
pub fn spawn_in_cgroup(
    program: &Path,
    args: &[OsString],
    cgroup_dir: &Path,
    procs: &Path,
) -> io::Result<Spawned> {
    let image = ExecImage::new(program, args)?;
    let dir = std::fs::File::open(cgroup_dir)?;
    let procs = std::fs::OpenOptions::new().write(true).open(procs)?;
    // Reports a failed exec's errno to the parent; closed by a good exec.
    let (err_read, err_write) = cloexec_pipe()?;
    let mut pidfd: libc::c_int = -1;
    let mut args = CloneArgs {
        flags: CLONE_PIDFD | CLONE_INTO_CGROUP,
        pidfd: &mut pidfd as *mut libc::c_int as u64,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: dir.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM behaves like fork; the child only runs
    // `exec_child`, which makes raw syscalls and never returns.
    let mut pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    let mut join_fd = -1;
    if pid < 0 {
        let e = io::Error::last_os_error();
        if !matches!(
            e.raw_os_error(),
            Some(libc::ENOSYS | libc::EINVAL | libc::E2BIG)
        ) {
            return Err(e);
        }
        log::debug!("clone3(CLONE_INTO_CGROUP) unavailable ({e}); joining via cgroup.procs");
        join_fd = procs.as_raw_fd();
        // SAFETY: as above.
        pid = unsafe { libc::fork() } as i64;
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    if pid == 0 {
        // SAFETY: in the child; never returns.
        unsafe { exec_child(&image, join_fd, err_write.as_raw_fd()) }
    }
    drop(err_write);
    let pid = pid as i32;
    let pidfd = if pidfd >= 0 {
        // SAFETY: a fresh fd from clone3.
        Some(unsafe { OwnedFd::from_raw_fd(pidfd) })
    } else {
        pidfd_open(pid)
    };
    match read_exec_error(&err_read) {
        None => Ok(Spawned { pid, pidfd }),
        Some(errno) => {
            let mut status = 0;
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}

/// The child side: optionally join the cgroup, restore what the recorder
/// changed (signal mask, SIGPIPE), exec. Only async-signal-safe calls.
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

fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh fds from pipe2.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The errno the child wrote before failing to exec, or `None` once the pipe
/// closed on a successful exec.
fn read_exec_error(fd: &OwnedFd) -> Option<i32> {
    let mut buf = [0u8; 4];
    loop {
        // SAFETY: reading into a 4-byte buffer.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return (n == 4).then(|| i32::from_ne_bytes(buf));
    }
}

pub(crate) fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) with no flags; the fd is owned below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    // SAFETY: a fresh fd from the kernel.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Whether a process `pid` runs: kill(2) with no signal fails with ESRCH
/// only when there is none (EPERM means one runs that is not ours to
/// signal).
pub(crate) fn process_runs(pid: i32) -> bool {
    // SAFETY: plain kill(2) with signal 0, which only checks.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// How a child ended, as a shell reports it: its exit code, or 128 + signal.
pub fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

/// Reaps `pid` if it has exited, without blocking.
pub fn try_wait(pid: i32) -> io::Result<Option<i32>> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == 0 {
            return Ok(None);
        }
        if r == pid {
            return Ok(Some(exit_code(status)));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_like_exit_codes() {
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(libc::SIGTERM), 128 + 15);
    }
}
