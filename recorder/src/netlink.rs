//! The netlink chores the audit and process-event sockets share.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use crate::sys;

/// Joins multicast `group` (a group number, not a mask).
pub fn bind_group(socket: &OwnedFd, group: u32) -> io::Result<()> {
    sys::socket::bind_netlink_groups(socket.as_fd(), 1 << (group - 1))
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
        if sys::socket::set_int_option(socket.as_fd(), option, size).is_ok() {
            return;
        }
    }
}

/// The receive queue's size in bytes (SO_RCVBUF).
pub fn receive_buffer(socket: &OwnedFd) -> Option<u64> {
    let size = sys::socket::int_option(socket.as_fd(), libc::SO_RCVBUF).ok()?;
    Some(u64::try_from(size).unwrap_or(0))
}
