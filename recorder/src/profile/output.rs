//! Where a profile goes: stdout, or a file written atomically.
//!
//! A regular file (or a path that does not exist yet) is written through a
//! temporary file in the same directory and renamed over the target, so a
//! reader never sees a partial profile and an interrupted write leaves the old
//! one in place. Anything else (`/dev/stdout`, a FIFO, a terminal) is written
//! directly and never replaced.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
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
#[derive(Debug, Clone)]
pub enum Output {
    Stdout,
    /// A regular file or a new path: temp file + rename.
    Replace(PathBuf),
    /// A device, FIFO or socket: opened and written as is.
    Direct(PathBuf),
}

impl Output {
    /// Checks up front that `path` can be written, so that a long recording
    /// does not end in an error. `None` or `-` is stdout.
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
                check_dir_writable(&dir).map_err(|source| OutputError::Unwritable {
                    path: path.to_path_buf(),
                    source,
                })?;
                Ok(Output::Replace(path.to_path_buf()))
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
            Output::Replace(path) => {
                write_atomically(path, text.as_bytes()).map_err(|source| OutputError::Unwritable {
                    path: path.clone(),
                    source,
                })
            }
        }
    }

    /// The file name, for messages; `None` for stdout.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Output::Stdout => None,
            Output::Replace(p) | Output::Direct(p) => Some(p),
        }
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn check_dir_writable(dir: &Path) -> io::Result<()> {
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: c is a valid NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it
/// over `path`. Keeps the permissions of an existing target.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let mode = fs::metadata(path)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()))
        .unwrap_or(0o644);
    let result = (|| {
        let mut file: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
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
