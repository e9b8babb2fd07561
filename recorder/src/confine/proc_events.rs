//! Which processes descend from one process, from the kernel's process
//! events (the netlink process connector): every fork is reported at once,
//! before the new process runs, so a process that forks, makes a syscall and
//! exits within a millisecond is still known to be part of the tree when its
//! audit record is read.

use crate::sys;
use std::collections::HashSet;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// `CN_IDX_PROC`, `CN_VAL_PROC`: the process connector's id.
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_EVENT_FORK: u32 = 1;
const NLMSG_HDRLEN: usize = 16;
/// `struct cn_msg`: id (idx, val), seq, ack, len, flags.
const CN_MSG_LEN: usize = 20;
/// `struct proc_event` header: what, cpu, timestamp_ns.
const PROC_EVENT_HEADER: usize = 16;

/// Why the process tree cannot be followed.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot follow process events ({0}): run as root (CAP_NET_ADMIN) in the host's network namespace"
)]
pub struct ProcEventsError(#[source] io::Error);

/// The processes descending from a root, as far as the events read so far
/// tell.
#[derive(Debug)]
pub struct ProcessTree {
    socket: OwnedFd,
    members: HashSet<u32>,
    /// Events were dropped because the queue was full.
    pub lost_events: bool,
}

impl ProcessTree {
    /// Starts following the descendants of `root` (a tgid).
    pub fn follow(root: u32) -> Result<ProcessTree, ProcEventsError> {
        let mut tree = ProcessTree::subscribe()?;
        tree.insert(root);
        Ok(tree)
    }

    /// Starts reading process events with no process to follow yet (add
    /// them with [`ProcessTree::insert`], once listed: listing after
    /// subscribing misses no fork).
    pub fn subscribe() -> Result<ProcessTree, ProcEventsError> {
        let socket =
            sys::socket::netlink(sys::socket::NetlinkKind::Datagram, libc::NETLINK_CONNECTOR)
                .map_err(ProcEventsError)?;
        crate::netlink::grow_receive_buffer(&socket);
        crate::netlink::bind_group(&socket, CN_IDX_PROC).map_err(ProcEventsError)?;
        subscribe(&socket).map_err(ProcEventsError)?;
        Ok(ProcessTree {
            socket,
            members: HashSet::new(),
            lost_events: false,
        })
    }

    /// Whether `tgid` is the root or one of its descendants.
    pub fn contains(&self, tgid: u32) -> bool {
        self.members.contains(&tgid)
    }

    /// Follows `tgid` and its descendants too (another root, such as a
    /// process that joined a container's cgroup from outside).
    pub fn insert(&mut self, tgid: u32) {
        self.members.insert(tgid);
    }

    /// Reads every queued event without blocking.
    pub fn read_pending(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match sys::socket::recv(self.socket.as_fd(), &mut buf, 0) {
                Ok(n) => n,
                Err(err) => match err.raw_os_error() {
                    Some(libc::EAGAIN) => return Ok(()),
                    Some(libc::EINTR) => continue,
                    Some(libc::ENOBUFS) => {
                        self.lost_events = true;
                        continue;
                    }
                    _ => return Err(err),
                },
            };
            self.parse(&buf[..n]);
        }
    }

    fn parse(&mut self, mut data: &[u8]) {
        let u32_at = |d: &[u8], at: usize| {
            d.get(at..at + 4)
                .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        };
        while let Some(len) = u32_at(data, 0) {
            let len = (len as usize).max(NLMSG_HDRLEN).min(data.len());
            let event = &data[NLMSG_HDRLEN.min(len)..len];
            let base = CN_MSG_LEN;
            if u32_at(event, 0) == Some(CN_IDX_PROC)
                && u32_at(event, base) == Some(PROC_EVENT_FORK)
                && let (Some(parent_tgid), Some(child_tgid)) = (
                    u32_at(event, base + PROC_EVENT_HEADER + 4),
                    u32_at(event, base + PROC_EVENT_HEADER + 12),
                )
                && self.members.contains(&parent_tgid)
            {
                self.members.insert(child_tgid);
            }
            // Messages are 4-byte aligned.
            let next = (len + 3) & !3;
            if next >= data.len() {
                break;
            }
            data = &data[next..];
        }
    }
}

impl AsFd for ProcessTree {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// Sends `PROC_CN_MCAST_LISTEN` to the process connector.
fn subscribe(socket: &OwnedFd) -> io::Result<()> {
    let total = NLMSG_HDRLEN + CN_MSG_LEN + 4;
    let mut msg = Vec::with_capacity(total);
    msg.extend_from_slice(&(total as u32).to_ne_bytes());
    msg.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
    msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
    msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&std::process::id().to_ne_bytes());
    msg.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    msg.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // ack
    msg.extend_from_slice(&4u16.to_ne_bytes()); // len
    msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
    msg.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
    match sys::socket::send(socket.as_fd(), &msg)? {
        n if n == msg.len() => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fork_event(parent_tgid: u32, child_tgid: u32) -> Vec<u8> {
        let mut m = Vec::new();
        let total = NLMSG_HDRLEN + CN_MSG_LEN + PROC_EVENT_HEADER + 16;
        m.extend_from_slice(&(total as u32).to_ne_bytes());
        m.extend_from_slice(&[0; 12]);
        m.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        m.extend_from_slice(&[0; 16]);
        m.extend_from_slice(&PROC_EVENT_FORK.to_ne_bytes());
        m.extend_from_slice(&[0; 12]);
        for v in [parent_tgid, parent_tgid, child_tgid, child_tgid] {
            m.extend_from_slice(&v.to_ne_bytes());
        }
        m
    }

    #[test]
    fn follows_descendants_only() {
        let mut tree = ProcessTree {
            socket: std::fs::File::open("/dev/null").unwrap().into(),
            members: HashSet::from([10]),
            lost_events: false,
        };
        let mut batch = fork_event(10, 11);
        batch.extend(fork_event(11, 12));
        batch.extend(fork_event(99, 100));
        tree.parse(&batch);
        assert!(tree.contains(11) && tree.contains(12));
        assert!(!tree.contains(100));
        tree.insert(99);
        tree.parse(&fork_event(99, 101));
        assert!(tree.contains(101));
    }
}
