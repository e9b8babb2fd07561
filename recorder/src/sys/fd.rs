//! Polling, pipes and reads on plain descriptors.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::{check, check_size};

/// The timeout of poll(2) in milliseconds, saturated.
fn millis(timeout: Duration) -> libc::c_int {
    libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX)
}

/// Waits up to `timeout` until one of `fds` is readable (or hung up);
/// returns how many are. EINTR comes back as an error of kind
/// [`io::ErrorKind::Interrupted`].
pub fn poll_readable<const N: usize>(
    fds: [BorrowedFd<'_>; N],
    timeout: Duration,
) -> io::Result<usize> {
    poll_numbers_readable(fds.map(|fd| fd.as_raw_fd()), timeout)
}

/// poll(2) for `POLLIN` on descriptor numbers; how many are ready.
fn poll_numbers_readable<const N: usize>(
    fds: [std::os::fd::RawFd; N],
    timeout: Duration,
) -> io::Result<usize> {
    let mut polled = fds.map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    // SAFETY: an array of N pollfds, alive for the call; poll(2) reports a
    // number that is not an open descriptor as POLLNVAL.
    let n = check(unsafe { libc::poll(polled.as_mut_ptr(), N as libc::nfds_t, millis(timeout)) })?;
    Ok(n as usize)
}

/// A pipe whose two ends close on exec: `(read, write)`.
pub fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two ints into an array of two.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: two fresh fds from pipe2, owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// read(2) into `buf`; the count read.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: writes at most `buf.len()` bytes into `buf`.
    check_size(unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
}

/// Waits up to `timeout` until `fd` is readable, by its number: for a
/// descriptor another thread owns behind a lock. A number closed meanwhile
/// makes poll(2) report POLLNVAL, not touch another file.
pub fn poll_raw_readable(fd: std::os::fd::RawFd, timeout: Duration) -> io::Result<usize> {
    poll_numbers_readable([fd], timeout)
}
