//! The kernel's audit records, live, from the audit netlink socket's
//! read-only multicast group (AUDIT_NLGRP_READLOG).
//!
//! The kernel sends every audit record to this group whether or not an audit
//! daemon runs, and without printk's rate limit; reading needs
//! CAP_AUDIT_READ. Records are lost only when this socket's receive queue
//! overflows, which [`AuditSocket::receive`] reports. `recorder logs
//! --source audit`, `recorder run --complain` and `recorder derive-base`
//! all read through this one socket type.

use crate::sys;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// `AUDIT_SECCOMP`: the record type of a seccomp action that logs.
pub const AUDIT_SECCOMP: u16 = 1326;
/// `AUDIT_NLGRP_READLOG`: the multicast group of all audit records.
const AUDIT_NLGRP_READLOG: u32 = 1;
const NLMSG_HDRLEN: usize = 16;

/// Why the audit records cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditSocketError {
    #[error("cannot open the audit netlink socket: {0} (the kernel needs CONFIG_AUDIT)")]
    Open(#[source] io::Error),
    #[error(
        "cannot join the kernel's audit log group: {0} (reading it needs CAP_AUDIT_READ: run as root)"
    )]
    Join(#[source] io::Error),
}

/// What one non-blocking receive found.
#[derive(Debug, PartialEq, Eq)]
pub enum Received<'a> {
    /// One audit record: its type and text (`audit(…): field=value …`).
    Record { kind: u16, body: &'a [u8] },
    /// The queue overflowed and records were dropped (ENOBUFS).
    Overrun,
    /// Nothing is queued.
    Empty,
}

/// A non-blocking subscription to every audit record from now on.
pub struct AuditSocket {
    socket: OwnedFd,
}

impl AuditSocket {
    /// Joins the group with a large receive queue; records from now on are
    /// queued.
    pub fn open() -> Result<AuditSocket, AuditSocketError> {
        Self::open_with_queue(None)
    }

    /// Joins the group with a receive queue of `bytes` (8 MiB when `None`;
    /// a small one makes the queue overflow, for tests).
    pub fn open_with_queue(bytes: Option<usize>) -> Result<AuditSocket, AuditSocketError> {
        let socket = sys::socket::netlink(sys::socket::NetlinkKind::Raw, libc::NETLINK_AUDIT)
            .map_err(AuditSocketError::Open)?;
        crate::netlink::set_receive_buffer(&socket, bytes.unwrap_or(crate::netlink::LARGE_QUEUE));
        crate::netlink::bind_group(&socket, AUDIT_NLGRP_READLOG).map_err(AuditSocketError::Join)?;
        Ok(AuditSocket { socket })
    }

    /// Receives one queued datagram into `buf` without blocking.
    pub fn receive<'b>(&self, buf: &'b mut [u8]) -> io::Result<Received<'b>> {
        let n = loop {
            let e = match sys::socket::recv(self.socket.as_fd(), buf, libc::MSG_DONTWAIT) {
                // A runt datagram holds nothing usable: take the next one.
                Ok(n) if n >= NLMSG_HDRLEN => break n,
                Ok(_) => continue,
                Err(e) => e,
            };
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => return Ok(Received::Empty),
                Some(libc::ENOBUFS) => return Ok(Received::Overrun),
                _ => return Err(e),
            }
        };
        Ok(match split_datagram(&buf[..n]) {
            Some((kind, body)) => Received::Record { kind, body },
            None => Received::Empty,
        })
    }
}

impl AuditSocket {
    /// The size of the receive queue the kernel granted (it doubles what
    /// was asked, for its bookkeeping).
    pub fn queue_bytes(&self) -> u64 {
        crate::netlink::receive_buffer(&self.socket).unwrap_or(0)
    }
}

impl AsFd for AuditSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// The record type and text of one multicast audit datagram. The kernel puts
/// one record in each and, for compatibility with old readers, sets
/// `nlmsg_len` to the payload's length rather than the message's, so the
/// datagram's size is what counts. The payload may end in NULs.
fn split_datagram(data: &[u8]) -> Option<(u16, &[u8])> {
    let header = data.get(..NLMSG_HDRLEN)?;
    let kind = u16::from_ne_bytes([header[4], header[5]]);
    let mut body = &data[NLMSG_HDRLEN..];
    while let [rest @ .., 0] = body {
        body = rest;
    }
    Some((kind, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram as the kernel sends it: nlmsg_len is the payload length.
    fn datagram(kind: u16, body: &[u8]) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&(body.len() as u32).to_ne_bytes());
        d.extend_from_slice(&kind.to_ne_bytes());
        d.extend_from_slice(&[0; 10]);
        d.extend_from_slice(body);
        d
    }

    #[test]
    fn whole_payload_despite_the_length_quirk() {
        let text = b"audit(1.2:3): pid=1 arch=c000003e syscall=39 compat=0 ip=0x1 code=0x7ffc0000";
        let mut d = datagram(AUDIT_SECCOMP, text);
        d.extend_from_slice(&[0, 0]);
        assert_eq!(split_datagram(&d), Some((AUDIT_SECCOMP, &text[..])));
    }

    #[test]
    fn runts_are_skipped() {
        assert_eq!(split_datagram(&[1, 2, 3]), None);
        assert_eq!(split_datagram(&datagram(1300, b"")), Some((1300, &b""[..])));
    }
}
