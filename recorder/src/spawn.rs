//! Starting the recorded command directly inside its cgroup.
//!
//! `clone3(CLONE_INTO_CGROUP)` creates the child in the recording's cgroup,
//! so it never migrates: moving a process between cgroups waits for an RCU
//! grace period (about 20 ms here), which would double the cost of
//! `recorder record -- true`. Kernels before 5.7 lack it; there the child
//! joins by writing to `cgroup.procs` before exec. Either way only raw,
//! async-signal-safe calls run between fork and exec: the recorder has
//! threads by then.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use crate::sys::fd;
use crate::sys::process::{self, ExecImage};

/// A started child process.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    /// Readable once the child has exited; `None` on kernels without pidfds.
    pub pidfd: Option<OwnedFd>,
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
    let (err_read, err_write) = fd::cloexec_pipe()?;
    let (pid, pidfd) = match process::clone_into_cgroup(&image, &dir, err_write.as_fd()) {
        Ok((pid, pidfd)) => (pid, Some(pidfd)),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOSYS | libc::EINVAL | libc::E2BIG)
            ) =>
        {
            log::debug!("clone3(CLONE_INTO_CGROUP) unavailable ({e}); joining via cgroup.procs");
            let pid = process::fork_exec(&image, &procs, err_write.as_fd())?;
            (pid, pidfd_open(pid))
        }
        Err(e) => return Err(e),
    };
    drop(err_write);
    match read_exec_error(&err_read) {
        None => Ok(Spawned { pid, pidfd }),
        Some(errno) => {
            // Reaping our own child, whose exec failed.
            let _ = process::waitpid(pid, false);
            Err(io::Error::from_raw_os_error(errno))
        }
    }
}

/// The errno the child wrote before failing to exec, or `None` once the pipe
/// closed on a successful exec.
fn read_exec_error(fd: &OwnedFd) -> Option<i32> {
    let mut buf = [0u8; 4];
    loop {
        match fd::read(fd.as_fd(), &mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            n => return (n.ok() == Some(4)).then(|| i32::from_ne_bytes(buf)),
        }
    }
}

pub(crate) fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    process::pidfd_open(pid).ok()
}

/// Whether a process `pid` runs: kill(2) with no signal fails with ESRCH
/// only when there is none (EPERM means one runs that is not ours to
/// signal).
pub(crate) fn process_runs(pid: i32) -> bool {
    match process::kill(pid, 0) {
        Ok(()) => true,
        Err(e) => e.raw_os_error() != Some(libc::ESRCH),
    }
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
    loop {
        match process::waitpid(pid, true) {
            Ok(status) => return Ok(status.map(exit_code)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
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
