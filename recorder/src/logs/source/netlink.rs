//! `--source audit`: records from the kernel's audit netlink multicast group
//! (AUDIT_NLGRP_READLOG).
//!
//! The kernel sends every audit record to this group whether or not an audit
//! daemon runs, and without printk's rate limit. Reading needs
//! CAP_AUDIT_READ. Records are dropped only when this socket's receive
//! buffer overflows, which is reported (ENOBUFS) and made unlikely with a
//! large buffer.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::{SourceError, Stop};
use crate::logs::collect::Collector;

const AUDIT_NLGRP_READLOG: u32 = 1;
/// AUDIT_SECCOMP, the record type of seccomp actions.
const AUDIT_SECCOMP: u16 = 1326;
const NLMSG_HDRLEN: usize = 16;
const RECEIVE_BUFFER: libc::c_int = 8 << 20;

/// Calls `ready` once the socket receives records.
pub fn read_audit_netlink(
    collector: &mut Collector,
    stop: &Stop,
    ready: impl FnOnce(),
) -> Result<(), SourceError> {
    let socket = open_socket()?;
    ready();
    let mut buf = vec![0u8; 1 << 16];
    while !stop.now() {
        let mut pfd = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 100) };
        loop {
            // SAFETY: buf is valid for buf.len() bytes.
            let n = unsafe {
                libc::recv(
                    socket.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::ENOBUFS) => collector.summary_mut().loss.netlink_overruns += 1,
                    Some(libc::EAGAIN) => break,
                    Some(libc::EINTR) => {}
                    _ => return Err(SourceError::Netlink(format!("receiving: {e}"))),
                }
                continue;
            }
            for (kind, body) in messages(&buf[..n as usize]) {
                if kind == AUDIT_SECCOMP {
                    collector.feed_netlink_seccomp(body);
                }
            }
        }
    }
    Ok(())
}

fn open_socket() -> Result<OwnedFd, SourceError> {
    // SAFETY: plain socket(2).
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_AUDIT,
        )
    };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(SourceError::Netlink(format!(
            "cannot open it: {e} (the kernel needs CONFIG_AUDIT)"
        )));
    }
    // SAFETY: fd is a new socket we own.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    for option in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: the option value is a c_int of the given size.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&RECEIVE_BUFFER as *const libc::c_int).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            break;
        }
    }
    // SAFETY: sockaddr_nl is plain data; zero is a valid start.
    let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_groups = 1 << (AUDIT_NLGRP_READLOG - 1);
    // SAFETY: addr is a valid sockaddr_nl of the given size.
    let rc = unsafe {
        libc::bind(
            fd,
            (&addr as *const libc::sockaddr_nl).cast(),
            mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        let hint = if e.raw_os_error() == Some(libc::EPERM) {
            " (reading the audit multicast group needs CAP_AUDIT_READ: run as root)"
        } else {
            ""
        };
        return Err(SourceError::Netlink(format!(
            "cannot join the audit log group: {e}{hint}"
        )));
    }
    Ok(socket)
}

/// The (type, payload) of each netlink message in one datagram; stops at
/// the first malformed header.
fn messages(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < NLMSG_HDRLEN {
            return None;
        }
        let len = u32::from_ne_bytes(data[0..4].try_into().ok()?) as usize;
        let kind = u16::from_ne_bytes(data[4..6].try_into().ok()?);
        if len < NLMSG_HDRLEN || len > data.len() {
            return None;
        }
        let body = &data[NLMSG_HDRLEN..len];
        let aligned = (len + 3) & !3;
        data = &data[aligned.min(data.len())..];
        Some((kind, body))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, body: &[u8]) -> Vec<u8> {
        let len = NLMSG_HDRLEN + body.len();
        let mut m = Vec::new();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(body);
        m.resize((len + 3) & !3, 0);
        m
    }

    #[test]
    fn splits_datagrams() {
        let mut data = message(1326, b"audit(1.0:1): x");
        data.extend(message(1300, b"ab"));
        let got: Vec<(u16, &[u8])> = messages(&data).collect();
        assert_eq!(got, [(1326, &b"audit(1.0:1): x"[..]), (1300, &b"ab"[..])]);
        assert_eq!(messages(&[1, 2, 3]).count(), 0);
        let mut bad = message(1326, b"x");
        bad[0] = 200;
        assert_eq!(messages(&bad).count(), 0);
    }
}
