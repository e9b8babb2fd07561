//! The kernel side's word that a new cgroup appeared: one record per cgroup
//! created after recording of new cgroups began, at its first syscall,
//! never one per syscall.
//!
//! The record comes while the cgroup's first process (a runtime's, for a
//! container) still runs, which is when what the cgroup is can be read: a
//! container that exits within milliseconds takes its runtime's state with
//! it. [`NewCgroups`] is read without blocking; its file descriptor becomes
//! readable when records wait, so a caller can poll it or put it on an
//! event loop.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use aya::maps::{MapData, RingBuf};
use recorder_common::{NewCgroupEvent, ROOT_IGNORED};

use crate::cgroup::CgroupId;

/// A cgroup the kernel side met for the first time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewCgroup {
    pub cgroup: CgroupId,
    /// The slot its recording took; `None` when no slot was free, and the
    /// cgroup stays unrecorded.
    pub slot: Option<u32>,
    /// The process that made the cgroup's first syscall.
    pub pid: i32,
    /// Its parent (the runtime that started it), when the kernel could
    /// tell.
    pub parent: Option<i32>,
}

impl NewCgroup {
    fn from_event(event: &NewCgroupEvent) -> NewCgroup {
        NewCgroup {
            cgroup: CgroupId(event.cgroup_id),
            slot: (event.slot != ROOT_IGNORED).then_some(event.slot),
            pid: event.tgid as i32,
            parent: (event.parent_tgid != 0).then_some(event.parent_tgid as i32),
        }
    }

    /// Decodes one ring buffer record; `None` for a record of another size.
    fn decode(bytes: &[u8]) -> Option<NewCgroup> {
        if bytes.len() != size_of::<NewCgroupEvent>() {
            return None;
        }
        // SAFETY: the length is checked; NewCgroupEvent is plain data of
        // integers, valid for any bytes; the read is unaligned-safe.
        let event = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<NewCgroupEvent>()) };
        Some(NewCgroup::from_event(&event))
    }
}

/// The ring buffer of [`NewCgroup`]s.
pub struct NewCgroups {
    ring: RingBuf<MapData>,
}

impl NewCgroups {
    pub(super) fn new(ring: RingBuf<MapData>) -> NewCgroups {
        NewCgroups { ring }
    }

    /// Waits up to `timeout` for records; `Ok(true)` when some wait.
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let mut poll = libc::pollfd {
            fd: self.ring.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        let ready = unsafe { libc::poll(&mut poll, 1, millis) };
        match ready {
            n if n > 0 => Ok(true),
            0 => Ok(false),
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }
}

/// The records waiting now; `None` when none is (more may come later).
impl Iterator for NewCgroups {
    type Item = NewCgroup;

    fn next(&mut self) -> Option<NewCgroup> {
        loop {
            let item = self.ring.next()?;
            match NewCgroup::decode(&item) {
                Some(new) => return Some(new),
                None => log::debug!("skipping a new-cgroup record of {} bytes", item.len()),
            }
        }
    }
}

impl AsFd for NewCgroups {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ring.as_fd()
    }
}

impl AsRawFd for NewCgroups {
    fn as_raw_fd(&self) -> RawFd {
        self.ring.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_records() {
        let event = NewCgroupEvent {
            cgroup_id: 4242,
            slot: 7,
            tgid: 100,
            parent_tgid: 99,
            _pad: 0,
        };
        // SAFETY: reading a plain struct's bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&event as *const NewCgroupEvent).cast::<u8>(),
                size_of::<NewCgroupEvent>(),
            )
        };
        assert_eq!(
            NewCgroup::decode(bytes),
            Some(NewCgroup {
                cgroup: CgroupId(4242),
                slot: Some(7),
                pid: 100,
                parent: Some(99),
            })
        );
        let missed = NewCgroupEvent {
            slot: ROOT_IGNORED,
            parent_tgid: 0,
            ..event
        };
        assert_eq!(NewCgroup::from_event(&missed).slot, None);
        assert_eq!(NewCgroup::from_event(&missed).parent, None);
        assert_eq!(NewCgroup::decode(&bytes[..8]), None);
    }
}
