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
use recorder_common::{EVENT_ARGV_BYTES, NewCgroupEvent, ROOT_IGNORED};

use crate::cgroup::CgroupId;

/// A cgroup the kernel side met for the first time.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// What the kernel read of the first task as it made that syscall.
    pub task: FirstTask,
}

/// The first task of a new cgroup, as the kernel side read it: what tells a
/// container when all its processes are gone before userspace looks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirstTask {
    /// Its `comm`.
    pub comm: String,
    /// Its command line's arguments; when `argv_whole` is false only the
    /// last ones (the first of them maybe cut).
    pub argv: Vec<String>,
    pub argv_whole: bool,
    /// The first variables of its environment (the last one maybe cut).
    pub env: Vec<String>,
}

/// NUL-separated strings of a buffer, as lossy UTF-8; empty ones skipped.
fn strings(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

impl NewCgroup {
    fn from_event(event: &NewCgroupEvent) -> NewCgroup {
        let argv_len = (event.argv_len as usize).min(event.argv.len());
        let env_len = (event.env_len as usize).min(event.env.len());
        let comm_len = event.comm.iter().position(|&b| b == 0).unwrap_or(16);
        NewCgroup {
            cgroup: CgroupId(event.cgroup_id),
            slot: (event.slot != ROOT_IGNORED).then_some(event.slot),
            pid: event.tgid as i32,
            parent: (event.parent_tgid != 0).then_some(event.parent_tgid as i32),
            task: FirstTask {
                comm: String::from_utf8_lossy(&event.comm[..comm_len]).into_owned(),
                argv: strings(&event.argv[..argv_len]),
                argv_whole: argv_len < EVENT_ARGV_BYTES,
                env: strings(&event.env[..env_len]),
            },
        }
    }

    /// Decodes one ring buffer record; `None` for a record of another size.
    fn decode(bytes: &[u8]) -> Option<NewCgroup> {
        let event: NewCgroupEvent = crate::sys::pod::read(bytes)?;
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
        match crate::sys::fd::poll_readable([self.ring.as_fd()], timeout) {
            Ok(ready) => Ok(ready > 0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(e),
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
        let mut event = NewCgroupEvent {
            cgroup_id: 4242,
            slot: 7,
            tgid: 100,
            parent_tgid: 99,
            ..NewCgroupEvent::EMPTY
        };
        event.comm[..4].copy_from_slice(b"crun");
        let argv = b"crun\0run\0-b\0/b\0box1\0";
        event.argv[..argv.len()].copy_from_slice(argv);
        event.argv_len = argv.len() as u32;
        let env = b"A=1\0_LIBCONTAINER_STATEDIR=/run/runc/x";
        event.env[..env.len()].copy_from_slice(env);
        event.env_len = env.len() as u32;
        let bytes = crate::sys::pod::bytes_of(&event);
        assert_eq!(
            NewCgroup::decode(bytes),
            Some(NewCgroup {
                cgroup: CgroupId(4242),
                slot: Some(7),
                pid: 100,
                parent: Some(99),
                task: FirstTask {
                    comm: "crun".into(),
                    argv: ["crun", "run", "-b", "/b", "box1"]
                        .map(String::from)
                        .to_vec(),
                    argv_whole: true,
                    env: ["A=1", "_LIBCONTAINER_STATEDIR=/run/runc/x"]
                        .map(String::from)
                        .to_vec(),
                },
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
