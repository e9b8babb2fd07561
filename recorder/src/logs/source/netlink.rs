//! `--source audit`: records from the kernel's audit netlink multicast group
//! (see [`crate::audit_netlink`]): no audit daemon needed and no printk rate
//! limit. Lost records (a full receive queue) are counted in the summary.

use std::os::fd::AsFd;
use std::time::Duration;

use super::{SourceError, Stop};
use crate::audit_netlink::{AUDIT_SECCOMP, AuditSocket, Received};
use crate::logs::collect::Collector;

/// Joins the audit group: records from now on queue in the socket's
/// receive queue, `queue_bytes` large (8 MiB when `None`).
pub fn open_audit_netlink(queue_bytes: Option<usize>) -> Result<AuditSocket, SourceError> {
    Ok(AuditSocket::open_with_queue(queue_bytes)?)
}

/// Reads the records of an [`open_audit_netlink`] until `stop`.
pub fn read_audit_netlink(
    socket: AuditSocket,
    collector: &mut Collector,
    stop: &Stop,
) -> Result<(), SourceError> {
    collector.summary_mut().loss.netlink_queue_bytes = socket.queue_bytes();
    let mut buf = vec![0u8; 1 << 16];
    while !stop.now() {
        // Woken early or not, what is there is read.
        let _ = crate::sys::fd::poll_readable([socket.as_fd()], Duration::from_millis(100));
        loop {
            match socket.receive(&mut buf) {
                Ok(Received::Record { kind, body }) => {
                    if kind == AUDIT_SECCOMP {
                        collector.feed_netlink_seccomp(body);
                    }
                }
                Ok(Received::Overrun) => collector.summary_mut().loss.netlink_overruns += 1,
                Ok(Received::Empty) => break,
                Err(e) => return Err(SourceError::Netlink(e)),
            }
        }
    }
    Ok(())
}
