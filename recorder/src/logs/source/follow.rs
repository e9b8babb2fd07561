//! `--follow FILE`: read what is appended to a log file, like `tail -F`.
//!
//! Starts at the current end. When the file is rotated (the path names a new
//! file) the old one is read to its end first, then the new one from its
//! start; when it is truncated in place, reading restarts at its start.

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use super::{LineBuffer, SourceError, Stop};
use crate::logs::collect::Collector;

/// How often the file is checked for new data and rotation.
const POLL: Duration = Duration::from_millis(100);

pub fn follow(
    path: &Path,
    collector: &mut Collector,
    stop: &Stop,
    ready: impl FnOnce(),
) -> Result<(), SourceError> {
    let open_err = |source| SourceError::Open {
        path: path.to_path_buf(),
        source,
    };
    let read_err = |source| SourceError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(open_err)?;
    let mut position = file.seek(SeekFrom::End(0)).map_err(read_err)?;
    let mut identity = file_identity(&file.metadata().map_err(read_err)?);
    // Only now is every later line sure to be read.
    ready();
    let mut lines = LineBuffer::new();
    while !stop.now() {
        match lines.read_from(&mut file, collector) {
            Ok(0) => {}
            Ok(n) => {
                position += n as u64;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(e)),
        }
        // At the end of the file: has it been rotated or truncated?
        match fs::metadata(path) {
            Ok(meta) if file_identity(&meta) != identity => {
                if let Ok(new) = File::open(path) {
                    lines.finish(collector);
                    identity = file_identity(&new.metadata().map_err(read_err)?);
                    file = new;
                    position = 0;
                    continue;
                }
            }
            Ok(meta) if meta.len() < position => {
                lines.finish(collector);
                position = file.seek(SeekFrom::Start(0)).map_err(read_err)?;
                continue;
            }
            // Between a rotation's rename and the new file's creation.
            _ => {}
        }
        std::thread::sleep(POLL);
    }
    // Whatever was appended up to the stop.
    loop {
        match lines.read_from(&mut file, collector) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(read_err(e)),
        }
    }
    lines.finish(collector);
    Ok(())
}

fn file_identity(meta: &fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}
