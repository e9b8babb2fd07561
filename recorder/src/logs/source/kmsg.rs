//! `--source kmsg`: kernel log records from /dev/kmsg, from now on.
//!
//! Each read(2) returns one record (`PRIO,SEQ,USEC,FLAGS;text\n` and
//! optional continuation lines). EPIPE means the ring buffer overwrote
//! records before they were read; they are counted as lost.

use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use memchr::memchr;

use super::{SourceError, Stop};
use crate::logs::collect::Collector;

/// Larger than the kernel's record limit (about 8 KiB incl. dictionary).
const RECORD_BUF: usize = 1 << 16;

/// Calls `ready` once /dev/kmsg is open and positioned at its end.
pub fn read_kmsg(
    collector: &mut Collector,
    stop: &Stop,
    ready: impl FnOnce(),
) -> Result<(), SourceError> {
    let mut kmsg = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
        .map_err(SourceError::Kmsg)?;
    kmsg.seek(SeekFrom::End(0)).map_err(SourceError::Kmsg)?;
    ready();
    let mut buf = vec![0u8; RECORD_BUF];
    while !stop.now() {
        let mut pfd = libc::pollfd {
            fd: kmsg.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 100) };
        loop {
            match kmsg.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let record = &buf[..n];
                    let first = memchr(b'\n', record).map_or(record, |i| &record[..i]);
                    collector.feed_line(first);
                }
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                    collector.summary_mut().loss.kmsg_overwritten += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SourceError::Kmsg(e)),
            }
        }
    }
    Ok(())
}
