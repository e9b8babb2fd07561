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
//!
//! Two faults leave no profile lost: a writer killed between naming its
//! temporary file and renaming it leaves `.NAME.PID.tmp`, which the next
//! output prepared or written beside the same target removes once PID is
//! gone; and a write that fails (a full filesystem) puts the profile in a
//! file of its own in `$TMPDIR` instead, which the error names
//! ([`OutputError::SavedElsewhere`]).

use std::cell::Cell;
use std::ffi::{CString, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::self_confine::Write;

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
    #[error(
        "cannot write {target}: {source}; the profile is in {fallback} instead (copy it there once it can be written)"
    )]
    SavedElsewhere {
        target: String,
        source: io::Error,
        fallback: PathBuf,
    },
    #[error("cannot write {target}: {source}, nor {fallback}: {fallback_error}")]
    NotSaved {
        target: String,
        source: io::Error,
        fallback: PathBuf,
        fallback_error: io::Error,
    },
}

/// `EX_IOERR` of sysexits.h: the exit status of a command whose own work
/// succeeded but whose profile could not be written where asked.
pub const EX_IOERR: i32 = 74;

impl OutputError {
    /// The exit status after this failure, for a command whose own status
    /// (a recorded command's, 0 when there is none) is `status`: that
    /// status when it is not 0, else [`EX_IOERR`] when the profile could not
    /// be written, else `failed` (a check before anything ran).
    pub fn exit_code(&self, status: i32, failed: i32) -> i32 {
        match self {
            OutputError::SavedElsewhere { .. } | OutputError::NotSaved { .. } if status != 0 => {
                status
            }
            OutputError::SavedElsewhere { .. } | OutputError::NotSaved { .. } => EX_IOERR,
            _ => failed,
        }
    }
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
                remove_stale_temps(path);
                Replacement::create(path)
                    .map(Output::Replace)
                    .map_err(|source| OutputError::Unwritable {
                        path: path.to_path_buf(),
                        source,
                    })
            }
        }
    }

    /// Writes `text` to the destination; when that fails, to a file of its
    /// own in `$TMPDIR`, which the error names.
    pub fn write(&self, text: &str) -> Result<(), OutputError> {
        let written = match self {
            Output::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(text.as_bytes()).and_then(|()| out.flush())
            }
            Output::Direct(path) => OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|mut f| f.write_all(text.as_bytes())),
            Output::Replace(replacement) => replacement.write(text.as_bytes()),
        };
        let Err(source) = written else {
            return Ok(());
        };
        let target = self.path().map_or_else(
            || "standard output".to_string(),
            |p| p.display().to_string(),
        );
        let fallback = fallback_path(self.path());
        match save_new(&fallback, text.as_bytes()) {
            Ok(()) => Err(OutputError::SavedElsewhere {
                target,
                source,
                fallback,
            }),
            Err(fallback_error) => Err(OutputError::NotSaved {
                target,
                source,
                fallback,
                fallback_error,
            }),
        }
    }

    /// Where this output writes, for what the recorder keeps once it has
    /// lowered its privileges ([`crate::self_confine`]): the target's
    /// directory or the file written in place, and `$TMPDIR` for the
    /// fallback.
    pub fn writes(&self) -> Vec<Write> {
        let mut writes = vec![Write::InDirectory(std::env::temp_dir())];
        match self {
            Output::Stdout => {}
            Output::Replace(r) => writes.push(Write::InDirectory(parent_dir(&r.target))),
            Output::Direct(path) => writes.push(Write::File(path.clone())),
        }
        writes
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
        if crate::sys::fs::link_following(&from, &to).is_err() {
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

/// Removes the temporary files (`.NAME.PID.tmp`) that writers of `target`
/// killed before they renamed them left beside it: those of pids that no
/// longer run. A live writer's is left alone.
fn remove_stale_temps(target: &Path) {
    let Some(name) = target.file_name() else {
        return;
    };
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let Ok(entries) = fs::read_dir(parent_dir(target)) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .as_bytes()
            .strip_prefix(prefix.as_bytes())
            .and_then(|rest| rest.strip_suffix(b".tmp"))
            .and_then(|pid| std::str::from_utf8(pid).ok())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if pid > 0 && pid as u32 != std::process::id() && !crate::spawn::process_runs(pid) {
            match fs::remove_file(entry.path()) {
                Ok(()) => log::info!(
                    "removed {}, left by a writer that was killed",
                    entry.path().display()
                ),
                Err(e) => log::debug!("removing {}: {e}", entry.path().display()),
            }
        }
    }
}

/// `$TMPDIR/recorder-<PID>-<target's file name>` (`profile.json` for
/// stdout).
fn fallback_path(target: Option<&Path>) -> PathBuf {
    let name = target
        .and_then(Path::file_name)
        .map_or_else(|| OsString::from("profile.json"), OsString::from);
    let mut file = OsString::from(format!("recorder-{}-", std::process::id()));
    file.push(name);
    std::env::temp_dir().join(file)
}

/// Writes `bytes` to a new file at `path` (never over an existing one).
fn save_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it
/// over `path`. Keeps the permissions of an existing target; removes what
/// killed writers left beside it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    remove_stale_temps(path);
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
    fn temporary_files_of_killed_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        // pid_max is at most 2^22: this pid never runs.
        let stale = dir.path().join(".p.json.99999999.tmp");
        // pid 1 always runs.
        let live = dir.path().join(".p.json.1.tmp");
        let other = dir.path().join(".q.json.99999999.tmp");
        for f in [&stale, &live, &other] {
            fs::write(f, "partial").unwrap();
        }
        Output::prepare(Some(&path)).unwrap().write("{}\n").unwrap();
        assert!(!stale.exists(), "a dead writer's temporary file goes");
        assert!(live.exists(), "a running writer's stays");
        assert!(other.exists(), "another target's stays");
        fs::write(&stale, "partial").unwrap();
        write_atomically(&path, b"{}\n").unwrap();
        assert!(!stale.exists());
    }

    #[test]
    fn a_failed_write_leaves_the_profile_in_tmpdir() {
        // /dev/full fails every write with ENOSPC.
        let out = Output::prepare(Some(Path::new("/dev/full"))).unwrap();
        let err = out.write("{\"x\": 1}\n").unwrap_err();
        let OutputError::SavedElsewhere { fallback, .. } = &err else {
            panic!("{err}");
        };
        assert_eq!(fs::read_to_string(fallback).unwrap(), "{\"x\": 1}\n");
        assert!(fallback.starts_with(std::env::temp_dir()));
        let text = err.to_string();
        assert!(
            text.starts_with("cannot write /dev/full: No space left on device"),
            "{text}"
        );
        assert!(text.contains(&fallback.display().to_string()), "{text}");
        assert_eq!(err.exit_code(0, 1), EX_IOERR);
        assert_eq!(err.exit_code(3, 1), 3, "the command's own status wins");
        fs::remove_file(fallback).unwrap();
    }

    #[test]
    fn dash_is_stdout() {
        assert!(matches!(
            Output::prepare(Some(Path::new("-"))).unwrap(),
            Output::Stdout
        ));
    }
}
