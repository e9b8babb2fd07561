//! Where a profile goes: stdout, or a file written atomically.
//!
//! A regular file (or a path that does not exist yet) is written through a
//! temporary file in the same directory and renamed over the target, so a
//! reader never sees a partial profile and an interrupted write leaves the old
//! one in place. The temporary file is created when the output is prepared,
//! before any recording: only creating a file proves that it can be created
//! (root passes `access(2)` on /proc, where nothing can be). It is unnamed
//! (`O_TMPFILE`) where the filesystem allows, so that a recorded command
//! listing the directory does not see it. Anything else (`/dev/stdout`, a
//! FIFO, a terminal) is written directly and never replaced.

use std::cell::Cell;
use std::ffi::{CString, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Errors of [`Output`].
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "cannot write {path}: directory {dir} does not exist (create it or choose another -o path)"
    )]
    NoDirectory { path: PathBuf, dir: PathBuf },
    #[error("cannot write {path}: {source} (choose a writable -o path)")]
    Unwritable { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: it is a directory (give a file name)")]
    IsDirectory { path: PathBuf },
    #[error("writing to standard output: {0}")]
    Stdout(io::Error),
}

/// A checked destination for a profile.
#[derive(Debug)]
pub enum Output {
    Stdout,
    /// A regular file or a new path: temp file + rename.
    Replace(Replacement),
    /// A device, FIFO or socket: opened and written as is.
    Direct(PathBuf),
}

/// The temporary file of an [`Output::Replace`], made when the output was
/// prepared and renamed over the target once written.
#[derive(Debug)]
pub struct Replacement {
    target: PathBuf,
    file: File,
    /// The temporary file's path where the filesystem has no `O_TMPFILE`;
    /// removed on drop unless it was renamed.
    named: Option<PathBuf>,
    written: Cell<bool>,
}

impl Output {
    /// Checks up front that `path` can be written, by creating its
    /// temporary file, so that a long recording does not end in an error.
    /// `None` or `-` is stdout.
    pub fn prepare(path: Option<&Path>) -> Result<Output, OutputError> {
        let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
            return Ok(Output::Stdout);
        };
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Err(OutputError::IsDirectory {
                path: path.to_path_buf(),
            }),
            Ok(meta)
                if meta.file_type().is_fifo()
                    || meta.file_type().is_char_device()
                    || meta.file_type().is_socket()
                    || meta.file_type().is_block_device() =>
            {
                Ok(Output::Direct(path.to_path_buf()))
            }
            _ => {
                let dir = parent_dir(path);
                if !dir.is_dir() {
                    return Err(OutputError::NoDirectory {
                        path: path.to_path_buf(),
                        dir,
                    });
                }
                Replacement::create(path)
                    .map(Output::Replace)
                    .map_err(|source| OutputError::Unwritable {
                        path: path.to_path_buf(),
                        source,
                    })
            }
        }
    }

    /// Writes `text` to the destination.
    pub fn write(&self, text: &str) -> Result<(), OutputError> {
        match self {
            Output::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(OutputError::Stdout)
            }
            Output::Direct(path) => OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|source| OutputError::Unwritable {
                    path: path.clone(),
                    source,
                }),
            Output::Replace(replacement) => {
                replacement
                    .write(text.as_bytes())
                    .map_err(|source| OutputError::Unwritable {
                        path: replacement.target.clone(),
                        source,
                    })
            }
        }
    }

    /// The file name, for messages; `None` for stdout.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Output::Stdout => None,
            Output::Replace(r) => Some(&r.target),
            Output::Direct(p) => Some(p),
        }
    }
}

impl Replacement {
    /// Creates the temporary file beside `target`, with the permissions of
    /// an existing target.
    fn create(target: &Path) -> io::Result<Replacement> {
        let dir = parent_dir(target);
        let mode = target_mode(target);
        let unnamed = OpenOptions::new()
            .write(true)
            .mode(mode)
            .custom_flags(libc::O_TMPFILE)
            .open(&dir);
        let (file, named) = match unnamed {
            Ok(file) => (file, None),
            // Filesystems without O_TMPFILE (and /proc, where the named
            // file fails too, with the error worth reporting).
            Err(_) => {
                let tmp = temp_path(target)?;
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(&tmp)?;
                (file, Some(tmp))
            }
        };
        Ok(Replacement {
            target: target.to_path_buf(),
            file,
            named,
            written: Cell::new(false),
        })
    }

    fn write(&self, bytes: &[u8]) -> io::Result<()> {
        if self.written.replace(true) {
            // The temporary file is the target now.
            return write_atomically(&self.target, bytes);
        }
        self.file.set_len(0)?;
        self.file.write_all_at(bytes, 0)?;
        self.file.sync_all()?;
        match &self.named {
            Some(tmp) => fs::rename(tmp, &self.target),
            None => self.link_over_target(bytes),
        }
    }

    /// Gives the unnamed file a temporary name and renames it over the
    /// target; where /proc/self/fd cannot be linked from, writes the target
    /// through a named temporary file instead.
    fn link_over_target(&self, bytes: &[u8]) -> io::Result<()> {
        let tmp = temp_path(&self.target)?;
        let from = CString::new(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let to = CString::new(tmp.as_os_str().as_bytes())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // SAFETY: two valid NUL-terminated paths.
        let linked = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if linked != 0 {
            return write_atomically(&self.target, bytes);
        }
        fs::rename(&tmp, &self.target).inspect_err(|_| {
            let _ = fs::remove_file(&tmp);
        })
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        if let Some(tmp) = &self.named
            && !self.written.get()
        {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// The permissions of an existing target, else 0644 (less the umask).
fn target_mode(path: &Path) -> u32 {
    fs::metadata(path)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
        .unwrap_or(0o644)
}

/// `.NAME.PID.tmp` beside `path`.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    Ok(parent_dir(path).join(tmp_name))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it
/// over `path`. Keeps the permissions of an existing target.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path)?;
    let result = (|| {
        let mut file: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(target_mode(path))
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_regular_file_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, "old").unwrap();
        let out = Output::prepare(Some(&path)).unwrap();
        assert!(matches!(out, Output::Replace(_)));
        out.write("new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
    }

    #[test]
    fn the_temporary_file_exists_from_the_start_unseen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        let out = Output::prepare(Some(&path)).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        out.write("{}\n").unwrap();
        drop(out);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["p.json"]);
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}\n");
    }

    #[test]
    fn an_unused_output_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        drop(Output::prepare(Some(&dir.path().join("p.json"))).unwrap());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_file_that_cannot_be_created_is_refused_up_front() {
        let err = Output::prepare(Some(Path::new("/proc/x.json"))).unwrap_err();
        assert!(
            err.to_string().starts_with("cannot write /proc/x.json: "),
            "{err}"
        );
    }

    #[test]
    fn missing_directory_is_reported_up_front() {
        let err = Output::prepare(Some(Path::new("/nonexistent-dir/p.json"))).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn directory_target_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let err = Output::prepare(Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn devices_are_written_directly() {
        let out = Output::prepare(Some(Path::new("/dev/null"))).unwrap();
        assert!(matches!(out, Output::Direct(_)));
        out.write("x").unwrap();
        assert!(Path::new("/dev/null").exists());
    }

    #[test]
    fn dash_is_stdout() {
        assert!(matches!(
            Output::prepare(Some(Path::new("-"))).unwrap(),
            Output::Stdout
        ));
    }
}
