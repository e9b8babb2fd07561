//! `--source kmsg`: kernel log records from /dev/kmsg, from now on.
//!
//! Each read(2) returns one record (`PRIO,SEQ,USEC,FLAGS;text\n` and
//! optional continuation lines). EPIPE means the ring buffer overwrote
//! records before they were read; they are counted as lost.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use memchr::memchr;

use super::{SourceError, Stop};
use crate::logs::collect::Collector;

/// Larger than the kernel's record limit (about 8 KiB incl. dictionary).
const RECORD_BUF: usize = 1 << 16;

/// /dev/kmsg, open and positioned at its end: records from now on.
pub fn open_kmsg() -> Result<File, SourceError> {
    let mut kmsg = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/dev/kmsg")
        .map_err(SourceError::Kmsg)?;
    kmsg.seek(SeekFrom::End(0)).map_err(SourceError::Kmsg)?;
    Ok(kmsg)
}

/// Reads the records of an [`open_kmsg`] until `stop`.
pub fn read_kmsg(
    mut kmsg: File,
    collector: &mut Collector,
    stop: &Stop,
) -> Result<(), SourceError> {
    let mut buf = vec![0u8; RECORD_BUF];
    while !stop.now() {
        // Woken early or not, what is there is read.
        let _ = crate::sys::fd::poll_readable([kmsg.as_fd()], Duration::from_millis(100));
        drain(&mut kmsg, &mut buf, collector).map_err(SourceError::Kmsg)?;
    }
    Ok(())
}

/// Reads every record waiting on a non-blocking /dev/kmsg.
fn drain(kmsg: &mut impl Read, buf: &mut [u8], collector: &mut Collector) -> io::Result<()> {
    loop {
        match kmsg.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                let record = &buf[..n];
                let first = memchr(b'\n', record).map_or(record, |i| &record[..i]);
                collector.feed_line(first);
            }
            // The reader's position was overwritten; the next read goes on
            // from the oldest record left.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                collector.summary_mut().loss.kmsg_overwritten += 1;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::FilterOptions;
    use std::collections::VecDeque;

    /// What successive read(2) calls on /dev/kmsg return.
    struct Reads(VecDeque<io::Result<&'static [u8]>>);

    impl Read for Reads {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.pop_front() {
                Some(Ok(record)) => {
                    buf[..record.len()].copy_from_slice(record);
                    Ok(record.len())
                }
                Some(Err(e)) => Err(e),
                None => Err(io::ErrorKind::WouldBlock.into()),
            }
        }
    }

    #[test]
    fn overwritten_records_are_counted_and_reading_goes_on() {
        let reads = [
            Ok(&b"5,1,10,-;audit: type=1326 audit(1.0:1): pid=7 arch=c000003e syscall=39 code=0x7ffc0000\n SUBSYSTEM=x\n"[..]),
            Err(io::Error::from_raw_os_error(libc::EPIPE)),
            Err(io::ErrorKind::Interrupted.into()),
            Ok(&b"5,9,20,-;audit: type=1326 audit(1.0:9): pid=7 arch=c000003e syscall=110 code=0x7ffc0000\n"[..]),
        ];
        let mut kmsg = Reads(reads.into_iter().collect());
        let mut collector = Collector::new(FilterOptions::default());
        let mut buf = vec![0u8; RECORD_BUF];
        drain(&mut kmsg, &mut buf, &mut collector).unwrap();
        let summary = collector.summary();
        assert_eq!(summary.loss.kmsg_overwritten, 1);
        assert_eq!(summary.matched_total(), 2);
        let warning = summary.loss_warning().unwrap_or_default();
        assert!(
            warning.contains("1 kernel log records were overwritten"),
            "{warning}"
        );
    }

    #[test]
    fn other_errors_end_the_reading() {
        let mut kmsg = Reads(
            [Err(io::Error::from_raw_os_error(libc::EIO))]
                .into_iter()
                .collect(),
        );
        let mut collector = Collector::new(FilterOptions::default());
        let mut buf = vec![0u8; 64];
        let err = drain(&mut kmsg, &mut buf, &mut collector).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EIO));
    }
}
