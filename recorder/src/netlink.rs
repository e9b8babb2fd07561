//! The netlink chores the audit and process-event sockets share.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// Joins multicast `group` (a group number, not a mask).
pub fn bind_group(socket: &OwnedFd, group: u32) -> io::Result<()> {
    // SAFETY: sockaddr_nl is plain data; zero is a valid start.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_groups = 1 << (group - 1);
    // SAFETY: bind with a valid sockaddr_nl of the right size.
    let rc = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&addr as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The receive queue asked for by default: bursts of records fit.
pub const LARGE_QUEUE: usize = 8 << 20;

/// Asks for an 8 MiB receive queue so that bursts are not dropped (root may
/// exceed rmem_max with SO_RCVBUFFORCE; otherwise the normal limit applies).
pub fn grow_receive_buffer(socket: &OwnedFd) {
    set_receive_buffer(socket, LARGE_QUEUE);
}

/// Asks for a receive queue of `bytes`: SO_RCVBUFFORCE where root may pass
/// net.core.rmem_max, else SO_RCVBUF within it.
pub fn set_receive_buffer(socket: &OwnedFd, bytes: usize) {
    let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: setsockopt with an int option.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return;
        }
    }
}

/// The receive queue's size in bytes (SO_RCVBUF).
pub fn receive_buffer(socket: &OwnedFd) -> Option<u64> {
    let mut size: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt with an int option and its length.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut size as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (rc == 0).then(|| u64::try_from(size).unwrap_or(0))
}
