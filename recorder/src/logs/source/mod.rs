//! Where log lines come from: files and stdin (plain, gzip or zstd, told by
//! content), a followed file, /dev/kmsg, and the kernel's audit netlink
//! multicast group.
//!
//! All of them read through a fixed-size buffer, so memory stays constant
//! whatever the input's size or line lengths.

mod follow;
mod kmsg;
mod netlink;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use memchr::{memchr, memrchr};

pub use follow::follow;
pub use kmsg::read_kmsg;
pub use netlink::read_audit_netlink;

use super::collect::Collector;

/// Errors of the log sources.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is compressed with {format}, but its data is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        format: &'static str,
        source: io::Error,
    },
    #[error("cannot open /dev/kmsg: {0} (run as root, or lower kernel.dmesg_restrict)")]
    Kmsg(io::Error),
    #[error("audit netlink socket: {0}")]
    Netlink(String),
}

/// The longest line kept; longer lines are skipped and counted. Kernel
/// audit records are at most about 9 KiB.
pub const MAX_LINE: usize = 1 << 20;

/// When a live source stops: Ctrl-C/SIGTERM, or a deadline.
#[derive(Clone, Debug)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    deadline: Option<Instant>,
}

impl Stop {
    pub fn new(flag: Arc<AtomicBool>, deadline: Option<Instant>) -> Stop {
        Stop { flag, deadline }
    }

    pub fn now(&self) -> bool {
        self.flag.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// The compression of an input, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn detect(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::None => "nothing",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Reads a whole file (`-` or `None` for stdin) into the collector.
pub fn read_file(path: Option<&Path>, collector: &mut Collector) -> Result<(), SourceError> {
    let shown = path.map_or_else(|| PathBuf::from("standard input"), Path::to_path_buf);
    let raw: Box<dyn Read> = match path.filter(|p| p.as_os_str() != "-") {
        None => Box::new(io::stdin().lock()),
        Some(p) => Box::new(File::open(p).map_err(|source| SourceError::Open {
            path: p.to_path_buf(),
            source,
        })?),
    };
    let mut buffered = BufReader::with_capacity(1 << 16, raw);
    let head = buffered.fill_buf().map_err(|source| SourceError::Read {
        path: shown.clone(),
        source,
    })?;
    let compression = Compression::detect(head);
    let mut reader: Box<dyn Read> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered).map_err(
            |source| SourceError::Corrupt {
                path: shown.clone(),
                format: "zstd",
                source,
            },
        )?),
    };
    let mut lines = LineBuffer::new();
    loop {
        match lines.read_from(&mut reader, collector) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) if compression != Compression::None => {
                return Err(SourceError::Corrupt {
                    path: shown,
                    format: compression.name(),
                    source,
                });
            }
            Err(source) => {
                return Err(SourceError::Read {
                    path: shown,
                    source,
                });
            }
        }
    }
    lines.finish(collector);
    Ok(())
}

/// A fixed buffer that turns reads into chunks of complete lines.
pub struct LineBuffer {
    buf: Box<[u8]>,
    len: usize,
    /// Inside an over-long line: drop bytes up to the next newline.
    skipping: bool,
    skipped: u64,
}

impl Default for LineBuffer {
    fn default() -> Self {
        LineBuffer::new()
    }
}

impl LineBuffer {
    pub fn new() -> LineBuffer {
        LineBuffer::with_capacity(MAX_LINE)
    }

    pub fn with_capacity(capacity: usize) -> LineBuffer {
        LineBuffer {
            buf: vec![0; capacity.max(2)].into_boxed_slice(),
            len: 0,
            skipping: false,
            skipped: 0,
        }
    }

    /// One read from `reader`; complete lines go to `collector`. Returns the
    /// number of bytes read (0 at the end of the input).
    pub fn read_from(
        &mut self,
        reader: &mut impl Read,
        collector: &mut Collector,
    ) -> io::Result<usize> {
        let n = reader.read(&mut self.buf[self.len..])?;
        if n > 0 {
            self.take(self.len, n, collector);
        }
        Ok(n)
    }

    /// Processes `n` new bytes that were written at `buf[start..]`.
    fn take(&mut self, start: usize, n: usize, collector: &mut Collector) {
        self.len = start + n;
        if self.skipping {
            match memchr(b'\n', &self.buf[..self.len]) {
                None => {
                    self.skipped += self.len as u64;
                    self.len = 0;
                    return;
                }
                Some(i) => {
                    self.skipped += i as u64 + 1;
                    collector.finish_over_long(self.skipped);
                    self.skipping = false;
                    self.skipped = 0;
                    self.buf.copy_within(i + 1..self.len, 0);
                    self.len -= i + 1;
                }
            }
        }
        match memrchr(b'\n', &self.buf[..self.len]) {
            Some(i) => {
                collector.feed_lines(&self.buf[..=i]);
                self.buf.copy_within(i + 1..self.len, 0);
                self.len -= i + 1;
            }
            None if self.len == self.buf.len() => {
                collector.start_over_long(&self.buf[..self.len]);
                self.skipping = true;
                self.skipped = self.len as u64;
                self.len = 0;
            }
            None => {}
        }
    }

    /// The end of the input: the last line may lack its newline.
    pub fn finish(&mut self, collector: &mut Collector) {
        if self.skipping {
            collector.finish_over_long(self.skipped);
        } else if self.len > 0 {
            collector.feed_lines(&self.buf[..self.len]);
        }
        self.len = 0;
        self.skipping = false;
        self.skipped = 0;
    }
}
