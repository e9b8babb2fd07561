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

/// Asks for an 8 MiB receive queue so that bursts are not dropped (root may
/// exceed rmem_max with SO_RCVBUFFORCE; otherwise the normal limit applies).
pub fn grow_receive_buffer(socket: &OwnedFd) {
    let size: libc::c_int = 8 << 20;
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
