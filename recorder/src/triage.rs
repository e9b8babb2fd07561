//! From a new cgroup to a kept or a dropped recording: the one step that
//! `recorder trace --wait` and `recorder daemon` share.
//!
//! Once the kernel side records new cgroups
//! ([`SyscallRecorder::record_new_cgroups`]), every cgroup created from
//! then on takes a slot at its first syscall and is announced as a
//! [`NewCgroup`]. [`Triage::arrive`] tells what it is while its first
//! process still runs ([`identify`]): a container (with its engine, names,
//! Kubernetes names and runtime), a pod's sandbox, or something else. The
//! caller decides whether it wants the recording; [`Triage::settle`] keeps
//! it or drops it, and a dropped cgroup is marked in the kernel so that it
//! never takes a slot again while it lives.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::bpf::{BpfError, NewCgroup, RecordingId, Scope, SyscallRecorder};
use crate::cgroup::{Cgroup2Mount, CgroupId};
use crate::container::identify::{Identified, Snapshot, identify};
use crate::container::{self, Container, HostLayout};

/// A new cgroup as first read, not told yet.
#[derive(Clone, Debug)]
pub struct Sighting {
    pub new: NewCgroup,
    pub snapshot: Snapshot,
}

/// A new cgroup, told.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub cgroup: CgroupId,
    /// Relative to the cgroup2 mount; `None` when the cgroup was gone
    /// before it could be looked up.
    pub path: Option<PathBuf>,
    /// The recording the kernel side started; `None` when it found no
    /// free slot (the cgroup is then unrecorded for good).
    pub recording: Option<RecordingId>,
    pub identified: Identified,
}

impl Arrival {
    /// The container, when it is one (not a sandbox).
    pub fn container(&self) -> Option<&Container> {
        match &self.identified {
            Identified::Container(c) => Some(c),
            _ => None,
        }
    }
}

/// What the caller wants done with an arrival's recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// It becomes the caller's, until [`SyscallRecorder::stop`].
    Keep,
    /// It ends now, and its cgroup is never recorded again while it lives.
    Drop,
}

/// Tells new cgroups apart on one host.
#[derive(Clone, Debug)]
pub struct Triage {
    layout: HostLayout,
    mount: Cgroup2Mount,
}

impl Triage {
    pub fn new(layout: HostLayout, mount: Cgroup2Mount) -> Triage {
        Triage { layout, mount }
    }

    /// Reads what tells a new cgroup, at once: its path (from its first
    /// process's /proc entry while it lives, else from the cgroup's id), its
    /// runtime's call and bundle. Cheap, so that it can run the moment the
    /// announcement comes; [`Self::arrive`] tells what it is later.
    pub fn sight(&self, new: NewCgroup) -> Sighting {
        let path = container::cgroup_of_pid(&self.layout.proc, new.pid)
            .filter(|p| self.is_cgroup(p, new.cgroup))
            .or_else(|| self.mount.path_of_id(new.cgroup));
        Sighting {
            snapshot: Snapshot::take(&self.layout, path, new.pid, new.parent, Some(&new.task)),
            new,
        }
    }

    /// Tells what a sighted cgroup is.
    pub fn arrive(&self, recorder: &SyscallRecorder, sighting: Sighting) -> Arrival {
        let Sighting { new, snapshot } = sighting;
        let identified = identify(&self.layout, &snapshot);
        let recording = new
            .slot
            .and_then(|slot| recorder.new_cgroup_recording(new.cgroup, slot));
        log::debug!(
            "new cgroup {} ({}): {identified:?}",
            new.cgroup.0,
            snapshot
                .cgroup
                .as_deref()
                .map_or_else(|| "gone".into(), |p| p.display().to_string())
        );
        Arrival {
            cgroup: new.cgroup,
            path: snapshot.cgroup,
            recording,
            identified,
        }
    }

    /// An arrival for a recording whose announcement was lost (the ring
    /// buffer was full): known by its cgroup alone.
    pub fn arrive_unannounced(&self, recording: RecordingId) -> Arrival {
        let path = self.mount.path_of_id(recording.root());
        let identified = match path.as_deref() {
            Some(p) => {
                let pid = crate::cgroup::pids_in_tree(&self.layout.cgroup_dir(p))
                    .first()
                    .copied();
                match pid {
                    Some(pid) => identify(
                        &self.layout,
                        &Snapshot::take(&self.layout, Some(p.to_path_buf()), pid, None, None),
                    ),
                    None => Identified::NotContainer("it has no process left".into()),
                }
            }
            None => Identified::NotContainer("it is gone".into()),
        };
        Arrival {
            cgroup: recording.root(),
            path,
            recording: Some(recording),
            identified,
        }
    }

    /// Whether `path` (from a process's /proc entry) is the cgroup `id`: the
    /// process may have moved on.
    fn is_cgroup(&self, path: &std::path::Path, id: CgroupId) -> bool {
        crate::cgroup::id_of_dir(&self.layout.cgroup_dir(path)).is_ok_and(|found| found == id)
    }

    /// Keeps or drops an arrival's recording in the kernel. An arrival that
    /// found no slot is marked ignored by the kernel side already.
    pub fn settle(
        recorder: &mut SyscallRecorder,
        arrival: &Arrival,
        decision: Decision,
    ) -> Result<(), BpfError> {
        match (arrival.recording, decision) {
            (Some(recording), Decision::Keep) => {
                recorder.keep(recording);
                Ok(())
            }
            (Some(recording), Decision::Drop) => recorder.drop_new(recording),
            (None, _) => recorder.ignore(arrival.cgroup),
        }
    }
}

/// How to record a container whose process `pid` runs already: only its
/// own tasks ([`Scope::Container`]) when it has a pid namespace of its own
/// or a mount namespace other than its runtime's, so that tasks still in
/// the host's (a runtime joining the container) are not taken for the
/// workload; every task when it shares both (there is no boundary then,
/// nor one in the mount namespace when the kernel side cannot read it,
/// `reads_mount_ns` false).
pub fn running_scope(layout: &HostLayout, reads_mount_ns: bool, pid: i32) -> Scope {
    let ns = |p: &Path| fs::metadata(p).map(|m| (m.dev(), m.ino())).ok();
    let theirs = ns(&layout.proc.join(pid.to_string()).join("ns/pid"));
    let ours = ns(Path::new("/proc/self/ns/pid"));
    let shares_pid_ns = matches!((theirs, ours), (Some(t), Some(o)) if t == o);
    let runtime_mount_ns = runtime_mount_ns(layout, reads_mount_ns, pid);
    let own_mount_ns =
        runtime_mount_ns.is_some_and(|r| container::mount_ns_of(&layout.proc, pid) != Some(r));
    if shares_pid_ns && !own_mount_ns {
        Scope::All
    } else {
        Scope::Container { runtime_mount_ns }
    }
}

/// The mount namespace of the runtime running container process `pid`:
/// its parent's (conmon, a containerd shim, runc), or, where that cannot be
/// read (a container left to an init that hides its namespaces), the
/// recorder's own; `None` when the kernel side does not read mount
/// namespaces.
pub fn runtime_mount_ns(layout: &HostLayout, reads_mount_ns: bool, pid: i32) -> Option<u64> {
    if !reads_mount_ns {
        return None;
    }
    container::parent_of(&layout.proc, pid)
        .and_then(|parent| container::mount_ns_of(&layout.proc, parent))
        .or_else(|| container::mount_ns_of(Path::new("/proc"), std::process::id() as i32))
}
