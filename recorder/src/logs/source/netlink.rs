//! `--source audit`: records from the kernel's audit netlink multicast group
//! (see [`crate::audit_netlink`]): no audit daemon needed and no printk rate
//! limit. Lost records (a full receive queue) are counted in the summary.

use std::os::fd::{AsFd, AsRawFd};

use super::{SourceError, Stop};
use crate::audit_netlink::{AUDIT_SECCOMP, AuditSocket, Received};
use crate::logs::collect::Collector;

/// Calls `ready` once the socket receives records.
pub fn read_audit_netlink(
    collector: &mut Collector,
    stop: &Stop,
    ready: impl FnOnce(),
) -> Result<(), SourceError> {
    let socket = AuditSocket::open()?;
    ready();
    let mut buf = vec![0u8; 1 << 16];
    while !stop.now() {
        let mut pfd = libc::pollfd {
            fd: socket.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 100) };
        loop {
            match socket.receive(&mut buf) {
                Ok(Received::Record { kind, body }) => {
                    if kind == AUDIT_SECCOMP {
                        collector.feed_netlink_seccomp(body);
                    }
                }
                Ok(Received::Overrun) => collector.summary_mut().loss.netlink_overruns += 1,
                Ok(Received::Empty) => break,
                Err(e) => return Err(SourceError::Netlink(format!("receiving: {e}"))),
            }
        }
    }
    Ok(())
}
