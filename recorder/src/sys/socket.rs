//! Netlink sockets: the audit records and the process events arrive on
//! them.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{check, check_size};

/// How a netlink socket passes messages.
#[derive(Clone, Copy, Debug)]
pub enum NetlinkKind {
    /// `SOCK_RAW`.
    Raw,
    /// `SOCK_DGRAM`.
    Datagram,
}

/// A non-blocking netlink socket of `protocol` (`NETLINK_AUDIT`,
/// `NETLINK_CONNECTOR`), closed on exec.
pub fn netlink(kind: NetlinkKind, protocol: libc::c_int) -> io::Result<OwnedFd> {
    let kind = match kind {
        NetlinkKind::Raw => libc::SOCK_RAW,
        NetlinkKind::Datagram => libc::SOCK_DGRAM,
    };
    // SAFETY: plain socket(2); the fd it returns is owned right below.
    let fd = check(unsafe {
        libc::socket(
            libc::AF_NETLINK,
            kind | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            protocol,
        )
    })?;
    // SAFETY: a fresh fd from socket(2), owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Binds a netlink socket to the multicast groups of the mask `groups`.
pub fn bind_netlink_groups(socket: BorrowedFd<'_>, groups: u32) -> io::Result<()> {
    // SAFETY: sockaddr_nl is plain data; all zeroes is a valid start.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_groups = groups;
    // SAFETY: bind with a valid sockaddr_nl and its size.
    check(unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&addr as *const libc::sockaddr_nl).cast(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// setsockopt(2) of an `int` option at `SOL_SOCKET` (`SO_RCVBUF`, ...).
pub fn set_int_option(
    socket: BorrowedFd<'_>,
    option: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: an int option with a pointer to an int and its size.
    check(unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// getsockopt(2) of an `int` option at `SOL_SOCKET`.
pub fn int_option(socket: BorrowedFd<'_>, option: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: an int option with room for an int and its length.
    check(unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// recv(2) of one datagram into `buf` with `flags` (`MSG_DONTWAIT`...);
/// the count received.
pub fn recv(socket: BorrowedFd<'_>, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: writes at most `buf.len()` bytes into `buf`.
    check_size(unsafe {
        libc::recv(
            socket.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
        )
    })
}

/// send(2) of `buf` as one message; the count sent.
pub fn send(socket: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: reads `buf.len()` bytes of `buf`.
    check_size(unsafe { libc::send(socket.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) })
}
