//! The mount-namespace half of the kernel side's container boundary
//! ([`recorder_common::SLOT_IN_CONTAINER`]).
//!
//! A container that shares the host's pid namespace (Kubernetes `hostPID`,
//! `docker run --pid=host`) still has a mount namespace of its own, which
//! its runtime makes before it sets the container up: so "outside the
//! host's mount namespace" tells the workload from the runtime where the pid
//! namespace cannot. No helper reads a task's mount namespace; the kernel
//! side follows `task->nsproxy->mnt_ns->ns.inum` at offsets read here from
//! the running kernel's BTF.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::arch::btf::Btf;

/// Where the kernel side finds the current task's mount namespace, and
/// the host's to compare it with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountNsBoundary {
    /// Inode of the host's mount namespace; 0 switches the check off.
    pub host_inode: u64,
    /// `task_struct.nsproxy`.
    pub nsproxy_offset: u64,
    /// `nsproxy.mnt_ns`.
    pub mnt_ns_offset: u64,
    /// `mnt_namespace.ns.inum`.
    pub inum_offset: u64,
}

impl MountNsBoundary {
    /// The boundary for this kernel, or the switched-off one when its BTF
    /// lacks a field or our own namespace is unknown: containers in the
    /// host's pid namespace are then not recorded from their start, which
    /// `recorder trace` says when it meets one (so this only logs at debug
    /// level, sparing every other command the noise).
    pub fn of_kernel(kernel: Option<&Btf>) -> MountNsBoundary {
        let host = host_mount_ns();
        match (
            kernel.and_then(|btf| Self::fields(|t, p| btf.member_offset(t, p))),
            host,
        ) {
            (Some(fields), Ok(host_inode)) => MountNsBoundary {
                host_inode,
                ..fields
            },
            (None, _) => {
                log::debug!(
                    "the kernel's BTF does not describe task_struct.nsproxy->mnt_ns->ns.inum: containers that share the host's pid namespace cannot be recorded from their start"
                );
                MountNsBoundary::default()
            }
            (_, Err(e)) => {
                log::debug!(
                    "reading the host's mount namespace: {e}: containers that share the host's pid namespace cannot be recorded from their start"
                );
                MountNsBoundary::default()
            }
        }
    }

    /// The three offsets, with `host_inode` still 0.
    fn fields(offset_of: impl Fn(&str, &str) -> Option<u64>) -> Option<MountNsBoundary> {
        Some(MountNsBoundary {
            host_inode: 0,
            nsproxy_offset: offset_of("task_struct", "nsproxy")?,
            mnt_ns_offset: offset_of("nsproxy", "mnt_ns")?,
            inum_offset: offset_of("mnt_namespace", "ns.inum")?,
        })
    }

    /// Whether the kernel side checks the mount namespace.
    pub fn is_on(&self) -> bool {
        self.host_inode != 0
    }

    /// Whether process `pid` (under `proc`) lives in a mount namespace
    /// other than the host's, as the kernel side sees it: `false` when the
    /// check is off or the process is gone.
    pub fn has_own(&self, proc: &Path, pid: i32) -> bool {
        let theirs = std::fs::metadata(proc.join(pid.to_string()).join("ns/mnt"));
        self.is_on() && theirs.is_ok_and(|m| m.ino() != self.host_inode)
    }
}

/// The mount namespace the host's container runtimes work in: init's,
/// which is the recorder's own unless the recorder itself runs in a
/// container (a `hostPID` DaemonSet pod, say), where its own would make
/// every process of the host look like a container's. The recorder's own
/// where init's cannot be read (some sandboxes hide it).
fn host_mount_ns() -> std::io::Result<u64> {
    std::fs::metadata("/proc/1/ns/mnt")
        .or_else(|_| std::fs::metadata("/proc/self/ns/mnt"))
        .map(|m| m.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_every_field() {
        let all = |ty: &str, path: &str| match (ty, path) {
            ("task_struct", "nsproxy") => Some(1840),
            ("nsproxy", "mnt_ns") => Some(24),
            ("mnt_namespace", "ns.inum") => Some(24),
            _ => None,
        };
        let fields = MountNsBoundary::fields(all).unwrap();
        assert_eq!(
            (
                fields.nsproxy_offset,
                fields.mnt_ns_offset,
                fields.inum_offset
            ),
            (1840, 24, 24)
        );
        let no_mnt_ns = |ty: &str, path: &str| (ty, path) != ("nsproxy", "mnt_ns");
        assert_eq!(
            MountNsBoundary::fields(|t, p| no_mnt_ns(t, p).then(|| all(t, p)).flatten()),
            None
        );
    }

    /// A process's namespace is told by the inode its ns/mnt link leads to,
    /// as in /proc.
    #[test]
    fn tells_a_process_in_a_mount_namespace_of_its_own() {
        let proc = tempfile::tempdir().unwrap();
        let host_ns = proc.path().join("host-ns");
        std::fs::write(&host_ns, "").unwrap();
        std::fs::write(proc.path().join("other-ns"), "").unwrap();
        for (pid, target) in [(5, "host-ns"), (6, "other-ns")] {
            let dir = proc.path().join(pid.to_string()).join("ns");
            std::fs::create_dir_all(&dir).unwrap();
            std::os::unix::fs::symlink(proc.path().join(target), dir.join("mnt")).unwrap();
        }
        let boundary = MountNsBoundary {
            host_inode: std::fs::metadata(&host_ns).unwrap().ino(),
            ..MountNsBoundary::default()
        };
        assert!(!boundary.has_own(proc.path(), 5));
        assert!(boundary.has_own(proc.path(), 6));
        assert!(!boundary.has_own(proc.path(), 7), "gone");
        assert!(!MountNsBoundary::default().has_own(proc.path(), 6), "off");
    }

    /// The kernels the tests run on describe all three fields.
    #[test]
    fn the_running_kernel_has_the_fields() {
        let btf = Btf::kernel().expect("kernel BTF (CONFIG_DEBUG_INFO_BTF)");
        let boundary = MountNsBoundary::of_kernel(Some(&btf));
        assert!(boundary.is_on(), "{boundary:?}");
    }
}
