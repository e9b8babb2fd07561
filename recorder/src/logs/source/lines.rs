//! Cutting a byte stream into chunks of complete lines, in buffers of a
//! fixed size: constant memory whatever the input, and lines longer than a
//! buffer are skipped and counted rather than grown into.

use std::io::{self, Read};

use memchr::{memchr, memrchr};

use crate::logs::collect::Collector;

/// The longest line kept; longer lines are skipped and counted. Kernel
/// audit records are at most about 9 KiB.
pub const MAX_LINE: usize = 1 << 20;

/// Where complete lines go.
pub trait LineSink {
    /// `buf[..lines]` holds complete lines and `buf[lines..filled]` the start
    /// of the next one. Returns a buffer of the same size that starts with
    /// that partial line (the same buffer, or a fresh one).
    fn lines(&mut self, buf: Vec<u8>, lines: usize, filled: usize) -> Vec<u8>;
    /// The first `head.len()` bytes of a line longer than the buffer.
    fn over_long_start(&mut self, head: &[u8]);
    /// The end of that line, `total` bytes with its newline.
    fn over_long_end(&mut self, total: u64);
}

/// Processes the lines on the spot.
impl LineSink for Collector {
    fn lines(&mut self, mut buf: Vec<u8>, lines: usize, filled: usize) -> Vec<u8> {
        self.feed_lines(&buf[..lines]);
        buf.copy_within(lines..filled, 0);
        buf
    }

    fn over_long_start(&mut self, head: &[u8]) {
        self.start_over_long(head);
    }

    fn over_long_end(&mut self, total: u64) {
        self.finish_over_long(total);
    }
}

/// A fixed buffer that turns reads into chunks of complete lines.
pub struct LineBuffer {
    buf: Vec<u8>,
    len: usize,
    /// Inside an over-long line: drop bytes up to the next newline.
    skipping: bool,
    skipped: u64,
    /// The most asked of one read.
    read_size: usize,
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
            buf: vec![0; capacity.max(2)],
            len: 0,
            skipping: false,
            skipped: 0,
            read_size: usize::MAX,
        }
    }

    /// Reads at most `size` bytes at a time (at least a byte), so that the
    /// lines of a read reach the sink while they are still in the cache.
    pub fn reading_at_most(mut self, size: usize) -> LineBuffer {
        self.read_size = size.max(1);
        self
    }

    /// One read from `reader`; complete lines go to `sink`. Returns the
    /// number of bytes read (0 at the end of the input).
    pub fn read_from(
        &mut self,
        reader: &mut (impl Read + ?Sized),
        sink: &mut impl LineSink,
    ) -> io::Result<usize> {
        let end = self.buf.len().min(self.len.saturating_add(self.read_size));
        let n = reader.read(&mut self.buf[self.len..end])?;
        if n > 0 {
            self.take(n, sink);
        }
        Ok(n)
    }

    /// Processes `n` new bytes written after `buf[..len]`.
    fn take(&mut self, n: usize, sink: &mut impl LineSink) {
        self.len += n;
        if self.skipping {
            match memchr(b'\n', &self.buf[..self.len]) {
                None => {
                    self.skipped += self.len as u64;
                    self.len = 0;
                    return;
                }
                Some(i) => {
                    self.skipped += i as u64 + 1;
                    sink.over_long_end(self.skipped);
                    self.skipping = false;
                    self.skipped = 0;
                    self.buf.copy_within(i + 1..self.len, 0);
                    self.len -= i + 1;
                }
            }
        }
        match memrchr(b'\n', &self.buf[..self.len]) {
            Some(i) => {
                let buf = std::mem::take(&mut self.buf);
                self.buf = sink.lines(buf, i + 1, self.len);
                self.len -= i + 1;
            }
            None if self.len == self.buf.len() => {
                sink.over_long_start(&self.buf[..self.len]);
                self.skipping = true;
                self.skipped = self.len as u64;
                self.len = 0;
            }
            None => {}
        }
    }

    /// The end of the input: the last line may lack its newline.
    pub fn finish(&mut self, sink: &mut impl LineSink) {
        if self.skipping {
            sink.over_long_end(self.skipped);
        } else if self.len > 0 {
            let buf = std::mem::take(&mut self.buf);
            self.buf = sink.lines(buf, self.len, self.len);
        }
        self.len = 0;
        self.skipping = false;
        self.skipped = 0;
    }
}
