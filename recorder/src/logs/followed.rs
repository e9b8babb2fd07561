//! The `--container`'s processes during a live read, from the kernel's
//! process events: [`FollowedProcesses`] is the [`FollowProcesses`] that
//! `recorder logs` gives the log filter.

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

use super::filter::FollowProcesses;
use crate::confine::proc_events::{ProcEventsError, ProcessTree};

/// The processes of a container and every process they start, from the
/// kernel's process events (read on a thread of their own, so that none is
/// lost while no record comes): a process forked by one of them belongs to
/// the container even after it has exited.
pub struct FollowedProcesses {
    tree: Arc<Mutex<ProcessTree>>,
}

impl std::fmt::Debug for FollowedProcesses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FollowedProcesses").finish_non_exhaustive()
    }
}

impl FollowedProcesses {
    /// Follows the processes in the cgroup directory `cgroup_dir` (and
    /// below) and what they start from now on; their events queue in the
    /// kernel until [`Self::read_in_background`].
    pub fn start(cgroup_dir: &Path) -> Result<FollowedProcesses, ProcEventsError> {
        // Listed after subscribing, so that no fork in between is missed.
        let mut tree = ProcessTree::subscribe()?;
        for pid in crate::cgroup::pids_in_tree(cgroup_dir) {
            if let Ok(pid) = u32::try_from(pid) {
                tree.insert(pid);
            }
        }
        Ok(FollowedProcesses {
            tree: Arc::new(Mutex::new(tree)),
        })
    }

    /// Reads the events as they come, on a thread of its own, until these
    /// followed processes are dropped.
    pub fn read_in_background(&self) {
        let weak = Arc::downgrade(&self.tree);
        let spawned = std::thread::Builder::new()
            .name("process-events".into())
            .spawn(move || drain_events(&weak));
        if let Err(e) = spawned {
            log::warn!("cannot start the thread that reads process events: {e}");
        }
    }
}

impl FollowProcesses for FollowedProcesses {
    /// Whether `pid` is one of the followed processes, by the events read
    /// so far.
    fn contains(&self, pid: u32) -> bool {
        let mut tree = self.tree.lock().unwrap_or_else(|e| e.into_inner());
        if tree.read_pending().is_err() {
            return false;
        }
        tree.contains(pid)
    }

    /// Follows `pid` too: a process found in the container that joined it
    /// from outside (`docker exec`), whose children belong to it as well.
    fn insert(&self, pid: u32) {
        self.tree
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pid);
    }
}

/// Reads process events as they come until the followed processes are
/// dropped: the kernel queues events of every process on the host, and a
/// full queue loses them.
fn drain_events(tree: &Weak<Mutex<ProcessTree>>) {
    while let Some(tree) = tree.upgrade() {
        let fd = tree
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_fd()
            .as_raw_fd();
        // Whether it became readable or not, the read below tells.
        let _ = crate::sys::fd::poll_raw_readable(fd, std::time::Duration::from_millis(100));
        let read = tree
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .read_pending();
        if read.is_err() {
            return;
        }
    }
}
