//! cgroup v2: finding the mount, creating a recording's cgroup, and ids.
//!
//! The kernel side keys recordings by cgroup v2 id, which is the inode number
//! of the cgroup's directory in the cgroup2 mount. The mount is
//! `/sys/fs/cgroup` on unified hosts and `/sys/fs/cgroup/unified` on hybrid
//! ones; it is read from /proc/self/mountinfo rather than guessed.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A cgroup v2 id (the directory's inode number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CgroupId(pub u64);

/// Errors of cgroup handling.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error(
        "no cgroup2 filesystem is mounted (see /proc/self/mountinfo): mount one, e.g. `mount -t cgroup2 none /sys/fs/cgroup/unified`"
    )]
    NoCgroup2,
    #[error("reading /proc/self/mountinfo")]
    MountInfo(#[source] io::Error),
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> CgroupError + 'a {
    move |source| CgroupError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Where cgroup2 is mounted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cgroup2Mount {
    pub root: PathBuf,
}

impl Cgroup2Mount {
    /// Finds the cgroup2 mount of this mount namespace.
    pub fn find() -> Result<Cgroup2Mount, CgroupError> {
        let text = fs::read_to_string("/proc/self/mountinfo").map_err(CgroupError::MountInfo)?;
        parse_mountinfo(&text).ok_or(CgroupError::NoCgroup2)
    }

    /// The absolute directory of the cgroup at `relative`.
    pub fn path_of(&self, relative: &Path) -> PathBuf {
        self.root
            .join(relative.strip_prefix("/").unwrap_or(relative))
    }
}

/// The cgroup id of a cgroup directory.
pub fn id_of_dir(path: &Path) -> Result<CgroupId, CgroupError> {
    let meta = fs::metadata(path).map_err(io_error("reading cgroup", path))?;
    Ok(CgroupId(meta.ino()))
}

impl Cgroup2Mount {
    /// An id every cgroup created from now on exceeds: the largest id of
    /// the cgroups there are. kernfs hands out node ids in increasing order
    /// (cyclically, with a generation above the 32-bit number), so a cgroup
    /// made after this look has a larger one. Only reads the tree, so the
    /// mount may be read-only (the daemon's, in a pod).
    pub fn newest_id(&self) -> Result<CgroupId, CgroupError> {
        let meta = fs::metadata(&self.root).map_err(io_error("reading cgroup", &self.root))?;
        let mut newest = meta.ino();
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            // Cgroups come and go during the walk: a vanished one is skipped.
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir())
                    && let Ok(meta) = entry.metadata()
                {
                    newest = newest.max(meta.ino());
                    dirs.push(entry.path());
                }
            }
        }
        Ok(CgroupId(newest))
    }
}

/// `FILEID_KERNFS`: the file handle type of kernfs (cgroupfs), whose
/// handle is the node's 64-bit id, which is the cgroup id.
const FILEID_KERNFS: i32 = 0xfe;

impl Cgroup2Mount {
    /// The path (relative to the mount, starting with `/`) of the cgroup
    /// with id `id`, while it exists: the kernel side names cgroups by id
    /// only. Opened by its file handle (cgroupfs hands out the id as the
    /// handle), so no walk of the tree is needed; needs
    /// CAP_DAC_READ_SEARCH, which root has.
    pub fn path_of_id(&self, id: CgroupId) -> Option<PathBuf> {
        let mount = fs::File::open(&self.root).ok()?;
        use std::os::fd::AsRawFd as _;
        let dir = crate::sys::fs::open_kernfs_dir(&mount, FILEID_KERNFS, id.0)
            .inspect_err(|e| log::debug!("cgroup id {}: open_by_handle_at: {e}", id.0))
            .ok()?;
        let path = fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).ok()?;
        let relative = path.strip_prefix(&self.root).ok()?;
        Some(Path::new("/").join(relative))
    }
}

/// Picks the first cgroup2 mount from mountinfo text. Mount points with
/// spaces are octal-escaped (`\040`) by the kernel.
fn parse_mountinfo(text: &str) -> Option<Cgroup2Mount> {
    text.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let fstype = right.split_whitespace().next()?;
        if fstype != "cgroup2" {
            return None;
        }
        let mount_point = left.split_whitespace().nth(4)?;
        Some(Cgroup2Mount {
            root: PathBuf::from(unescape_octal(mount_point)),
        })
    })
}

fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // `\ooo` is one byte, so at most `\377`: the kernel writes nothing
        // higher, and higher would overflow the u8 sum below.
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && (b'0'..=b'3').contains(&bytes[i + 1])
            && bytes[i + 2..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A cgroup this process created; removed again on [`OwnedCgroup::remove`]
/// or drop. Processes still in it are moved to `parent` first, since a
/// populated cgroup cannot be removed.
#[derive(Debug)]
pub struct OwnedCgroup {
    path: PathBuf,
    id: CgroupId,
    removed: bool,
}

impl OwnedCgroup {
    /// Creates `<mount>/recorder/<name>`.
    pub fn create(mount: &Cgroup2Mount, name: &str) -> Result<OwnedCgroup, CgroupError> {
        let parent = mount.root.join("recorder");
        match fs::create_dir(&parent) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("creating cgroup", &parent)(e)),
        }
        let path = parent.join(name);
        fs::create_dir(&path).map_err(io_error("creating cgroup", &path))?;
        let id = id_of_dir(&path)?;
        Ok(OwnedCgroup {
            path,
            id,
            removed: false,
        })
    }

    pub fn id(&self) -> CgroupId {
        self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `cgroup.procs` of this cgroup, for a child to write "0" into.
    pub fn procs_file(&self) -> PathBuf {
        self.path.join("cgroup.procs")
    }

    /// Pids of the processes in this cgroup and every cgroup below it.
    pub fn pids(&self) -> Vec<i32> {
        pids_in_tree(&self.path)
    }

    /// Whether any process is left in this cgroup or below it.
    pub fn is_populated(&self) -> bool {
        match fs::read_to_string(self.path.join("cgroup.events")) {
            Ok(events) => events.lines().any(|l| l.trim() == "populated 1"),
            Err(_) => !self.pids().is_empty(),
        }
    }

    /// Moves any remaining process to the parent of the `recorder` folder
    /// (so it keeps running, unrecorded) and removes the cgroup tree.
    pub fn remove(&mut self) -> Result<(), CgroupError> {
        if self.removed {
            return Ok(());
        }
        let target = self
            .path
            .parent()
            .and_then(Path::parent)
            .map(|p| p.join("cgroup.procs"));
        for _ in 0..50 {
            let pids = self.pids();
            if pids.is_empty() {
                break;
            }
            if let Some(target) = &target {
                for pid in pids {
                    let _ = fs::write(target, pid.to_string());
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        remove_tree(&self.path).map_err(io_error("removing cgroup", &self.path))?;
        self.removed = true;
        Ok(())
    }
}

impl Drop for OwnedCgroup {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            log::warn!("{e}", e = crate::messages::Chain(&e));
        }
    }
}

/// Removes the recording cgroups (`<mount>/recorder/rec-PID`) that killed
/// recorders left, once no process is left in them: a recorder removes its
/// own as it ends, which SIGKILL gives it no chance to. One whose recorder
/// (PID) still runs stays, and so does one whose workload still runs (it
/// goes at a later run, once the workload has ended).
pub fn remove_leftovers(mount: &Cgroup2Mount) {
    let Ok(entries) = fs::read_dir(mount.root.join("recorder")) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("rec-"))
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if pid <= 0 || pid as u32 == std::process::id() || crate::spawn::process_runs(pid) {
            continue;
        }
        let dir = entry.path();
        if !pids_in_tree(&dir).is_empty() {
            log::debug!(
                "{} was left by a recorder that was killed, and processes still run in it",
                dir.display()
            );
            continue;
        }
        match remove_tree(&dir) {
            Ok(()) => log::info!(
                "removed cgroup {}, left by a recorder that was killed",
                dir.display()
            ),
            Err(e) => log::debug!(
                "removing {}: {e}",
                dir.display(),
                e = crate::messages::Chain(&e)
            ),
        }
    }
}

/// Pids of the processes in the cgroup directory `dir` and every cgroup
/// below it (a cgroup that vanishes meanwhile counts as empty).
pub fn pids_in_tree(dir: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    collect_pids(dir, &mut pids);
    pids
}

fn collect_pids(dir: &Path, pids: &mut Vec<i32>) {
    if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
        pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect_pids(&entry.path(), pids);
            }
        }
    }
}

/// Removes a cgroup and its descendants, deepest first (cgroupfs only allows
/// rmdir of empty cgroups, and their control files need no unlinking).
fn remove_tree(dir: &Path) -> io::Result<()> {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path())?;
            }
        }
    }
    let mut last = Ok(());
    // A process that just exited may keep the cgroup busy for a moment.
    for _ in 0..100 {
        last = fs::remove_dir(dir);
        match &last {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hybrid_and_unified_mounts() {
        let hybrid = "25 19 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n\
                      26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,relatime shared:10 - cgroup2 cgroup2 rw\n";
        assert_eq!(
            parse_mountinfo(hybrid).unwrap().root,
            PathBuf::from("/sys/fs/cgroup/unified")
        );
        let unified = "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            parse_mountinfo(unified).unwrap().root,
            PathBuf::from("/sys/fs/cgroup")
        );
        assert!(parse_mountinfo("1 0 0:1 / / rw - ext4 /dev/vda rw\n").is_none());
    }

    #[test]
    fn unescapes_mount_points() {
        assert_eq!(unescape_octal(r"/mnt/a\040b"), "/mnt/a b");
        assert_eq!(unescape_octal(r"/plain"), "/plain");
        // Not one byte: kept as written rather than overflowing.
        assert_eq!(unescape_octal(r"/mnt/\777"), r"/mnt/\777");
    }
}
