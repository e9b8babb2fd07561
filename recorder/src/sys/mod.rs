//! Raw OS calls, each behind a safe, typed wrapper.
//!
//! Every `unsafe` libc call of the recorder lives here, one module per
//! concern, each call with the reason it is sound; the rest of the crate is
//! safe code. A wrapper returns [`std::io::Result`] with the errno the
//! kernel gave, or says in its doc why it has nothing to report.
//!
//! - [`process`]: fork/clone3 and exec, waiting, signals, pidfds, limits;
//!   the code between fork and exec, which must stay async-signal-safe.
//! - [`fd`]: polling, pipes and reads on plain descriptors.
//! - [`socket`]: netlink sockets (audit records, process events).
//! - [`caps`]: capabilities, no_new_privs, seccomp mode (capset, prctl).
//! - [`fs`]: calls on paths and handles std has no wrapper for.
//! - [`pod`]: plain-data structs read from and viewed as bytes.

pub mod caps;
pub mod fd;
pub mod fs;
pub mod pod;
pub mod process;
pub mod socket;

use std::io;

/// `Ok(rc)` for a non-negative return, else the errno as an error.
fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// [`check`] for calls that return a `long` (`syscall(2)`).
fn check_long(rc: libc::c_long) -> io::Result<libc::c_long> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// [`check`] for calls that return a byte count.
fn check_size(rc: libc::ssize_t) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}
