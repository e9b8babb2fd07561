//! Where log lines come from: files and stdin (plain, gzip or zstd, told by
//! content), a followed file, /dev/kmsg, and the kernel's audit netlink
//! multicast group.
//!
//! All of them read through a fixed-size buffer, so memory stays constant
//! whatever the input's size or line lengths.

mod follow;
mod kmsg;
mod lines;
mod netlink;
mod parallel;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub use follow::follow;
pub use kmsg::{open_kmsg, read_kmsg};
pub use lines::{LineBuffer, LineSink, MAX_LINE};
pub use netlink::{open_audit_netlink, read_audit_netlink};
pub use parallel::default_workers;

use super::collect::Collector;

/// Errors of the log sources.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open {path}")]
    Open { path: PathBuf, source: io::Error },
    #[error("reading {path}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is compressed with {format}, but its data is corrupt")]
    Corrupt {
        path: PathBuf,
        format: &'static str,
        source: io::Error,
    },
    #[error("cannot open /dev/kmsg: {0} (run as root, or lower kernel.dmesg_restrict)")]
    Kmsg(io::Error),
    #[error(transparent)]
    Audit(#[from] crate::audit_netlink::AuditSocketError),
    #[error("audit netlink socket: receiving")]
    Netlink(#[source] io::Error),
}

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

/// Reads a whole file (`-` or `None` for stdin) into the collector, parsing
/// on `threads` threads (1: on this one).
pub fn read_file(
    path: Option<&Path>,
    collector: &mut Collector,
    threads: usize,
) -> Result<(), SourceError> {
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
    match parallel::scan(&mut reader, collector, threads) {
        Ok(()) => Ok(()),
        Err(source) if compression != Compression::None => Err(SourceError::Corrupt {
            path: shown,
            format: compression.name(),
            source,
        }),
        Err(source) => Err(SourceError::Read {
            path: shown,
            source,
        }),
    }
}
