//! Learning the id and path of every cgroup created while the recorder
//! waits for a container.
//!
//! The kernel side names a cgroup it starts recording by id only, and a
//! short-lived container's cgroup may be gone before the runtime's state even
//! names the container. An inotify watch on every directory of the cgroup2
//! tree sees each new cgroup at its `mkdir` and looks its id up at once, long
//! before the runtime could have run the container and removed the cgroup.

use std::collections::{BTreeMap, HashMap};
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cgroup::CgroupId;

/// Watches a cgroup2 tree for new cgroups.
pub struct CgroupWatch {
    fd: OwnedFd,
    mount: PathBuf,
    /// Watch descriptor -> directory, relative to the mount.
    dirs: HashMap<i32, PathBuf>,
    learned: BTreeMap<CgroupId, PathBuf>,
}

const MASK: u32 = libc::IN_CREATE | libc::IN_ONLYDIR;

impl CgroupWatch {
    /// Watches every directory below `mount` (the cgroup2 mount).
    pub fn start(mount: &Path) -> io::Result<CgroupWatch> {
        // SAFETY: plain inotify_init1; the fd is owned below.
        let raw = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut watch = CgroupWatch {
            // SAFETY: a fresh fd.
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
            mount: mount.to_path_buf(),
            dirs: HashMap::new(),
            learned: BTreeMap::new(),
        };
        watch.add_tree(Path::new("/"), false)?;
        Ok(watch)
    }

    /// Adds watches on `relative` and every directory below it, learning
    /// the ids of those created while watching (`learn`).
    fn add_tree(&mut self, relative: &Path, learn: bool) -> io::Result<()> {
        let dir = self.absolute(relative);
        let c = CString::new(dir.as_os_str().as_encoded_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: valid fd and NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), MASK) };
        if wd < 0 {
            let e = io::Error::last_os_error();
            // Removed meanwhile: nothing to watch.
            return if e.kind() == io::ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            };
        }
        self.dirs.insert(wd, relative.to_path_buf());
        if learn && let Ok(meta) = fs::metadata(&dir) {
            self.learned
                .insert(CgroupId(meta.ino()), relative.to_path_buf());
        }
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                self.add_tree(&relative.join(entry.file_name()), learn)?;
            }
        }
        Ok(())
    }

    fn absolute(&self, relative: &Path) -> PathBuf {
        self.mount
            .join(relative.strip_prefix("/").unwrap_or(relative))
    }

    /// Waits up to `timeout` for new cgroups and learns those that came.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<()> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // Saturated: a wrapped (negative) timeout would wait forever.
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, millis) };
        if ready <= 0 {
            return Ok(());
        }
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return Ok(());
            }
            let mut offset = 0;
            let header = std::mem::size_of::<libc::inotify_event>();
            while offset + header <= n as usize {
                // SAFETY: the kernel wrote a whole event at offset; read
                // unaligned since the buffer is bytes.
                let event: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[offset..].as_ptr().cast()) };
                let name_start = offset + header;
                let name_end = (name_start + event.len as usize).min(n as usize);
                let name = &buf[name_start..name_end];
                let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
                offset = name_end;
                if event.mask & libc::IN_Q_OVERFLOW != 0 {
                    // Some events are lost: learn what the tree has now.
                    self.add_tree(Path::new("/"), true)?;
                    continue;
                }
                if event.mask & libc::IN_ISDIR == 0 || name.is_empty() {
                    continue;
                }
                let Some(parent) = self.dirs.get(&event.wd).cloned() else {
                    continue;
                };
                let name = std::ffi::OsStr::from_bytes(name);
                self.add_tree(&parent.join(name), true)?;
            }
        }
    }

    /// The path (relative to the mount) of a cgroup created while watching.
    pub fn path_of(&self, id: CgroupId) -> Option<&PathBuf> {
        self.learned.get(&id)
    }

    /// Records a path the caller found itself.
    pub fn learn(&mut self, id: CgroupId, path: PathBuf) {
        self.learned.insert(id, path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// inotify works on any directory tree; cgroupfs reports mkdir the same.
    #[test]
    fn learns_directories_created_while_watching() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("old")).unwrap();
        let mut watch = CgroupWatch::start(dir.path()).unwrap();
        fs::create_dir_all(dir.path().join("old/new/deeper")).unwrap();
        fs::create_dir(dir.path().join("top")).unwrap();
        let id = |p: &str| CgroupId(fs::metadata(dir.path().join(p)).unwrap().ino());
        for _ in 0..3 {
            watch.wait(Duration::from_millis(50)).unwrap();
        }
        assert_eq!(
            watch.path_of(id("old/new")),
            Some(&PathBuf::from("/old/new"))
        );
        assert_eq!(
            watch.path_of(id("old/new/deeper")),
            Some(&PathBuf::from("/old/new/deeper"))
        );
        assert_eq!(watch.path_of(id("top")), Some(&PathBuf::from("/top")));
        // Only what appeared while watching is learnt.
        assert_eq!(watch.path_of(id("old")), None);
    }

    #[test]
    fn gone_before_it_is_read_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut watch = CgroupWatch::start(dir.path()).unwrap();
        fs::create_dir(dir.path().join("brief")).unwrap();
        fs::remove_dir(dir.path().join("brief")).unwrap();
        watch.wait(Duration::from_millis(50)).unwrap();
    }
}
