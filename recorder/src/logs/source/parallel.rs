//! Parsing a file's chunks on several threads while one thread reads (and
//! decompresses): a [`LineSink`] that hands each chunk of complete lines to
//! the next worker, each with its own [`Collector`], merged at the end.
//!
//! Buffers circulate through a fixed pool, so memory stays constant. A
//! duplicate pair (journald's two copies of a record) split between two
//! workers is counted twice; the profile is the same.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::thread;

use super::lines::{LineBuffer, LineSink, MAX_LINE};
use crate::logs::collect::Collector;

/// Chunks queued per worker.
const QUEUE: usize = 2;

/// The most read at once when this thread parses: the lines are parsed
/// while the read's bytes are still in the core's cache (L2), and the
/// collector's tables are not pushed out of it by a whole buffer's worth.
const INLINE_READ: usize = 1 << 17;

/// Reads `reader` to its end into `collector`, parsing on `workers`
/// threads; with one, on this thread, which saves handing every chunk to
/// another core.
pub fn scan(reader: &mut dyn Read, collector: &mut Collector, workers: usize) -> io::Result<()> {
    if workers <= 1 {
        let mut lines = LineBuffer::new().reading_at_most(INLINE_READ);
        return read_all(reader, &mut lines, collector);
    }
    let (free_tx, free_rx) = channel::<Vec<u8>>();
    for _ in 0..workers * (QUEUE + 1) + 1 {
        // The receiver lives until the end of this function.
        let _ = free_tx.send(vec![0; MAX_LINE]);
    }
    thread::scope(|scope| {
        let mut queues = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = sync_channel::<(Vec<u8>, usize)>(QUEUE);
            let free = free_tx.clone();
            let mut worker = collector.worker();
            handles.push(scope.spawn(move || {
                for (buf, len) in rx {
                    worker.feed_lines(&buf[..len]);
                    let _ = free.send(buf);
                }
                worker
            }));
            queues.push(tx);
        }
        let mut sink = Dispatch {
            queues,
            next: 0,
            free: &free_rx,
            main: collector,
        };
        let result = read_all(reader, &mut LineBuffer::new(), &mut sink);
        let Dispatch { queues, main, .. } = sink;
        drop(queues);
        for handle in handles {
            match handle.join() {
                Ok(worker) => main.merge(worker),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        result
    })
}

/// Reads `reader` to its end, every complete line to `sink`.
fn read_all(
    reader: &mut dyn Read,
    lines: &mut LineBuffer,
    sink: &mut impl LineSink,
) -> io::Result<()> {
    loop {
        match lines.read_from(reader, sink) {
            Ok(0) => {
                lines.finish(sink);
                return Ok(());
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

struct Dispatch<'a> {
    queues: Vec<SyncSender<(Vec<u8>, usize)>>,
    next: usize,
    free: &'a Receiver<Vec<u8>>,
    /// Counts over-long lines (the reader's own finds).
    main: &'a mut Collector,
}

impl LineSink for Dispatch<'_> {
    fn lines(&mut self, buf: Vec<u8>, lines: usize, filled: usize) -> Vec<u8> {
        // Buffers always come back while a worker runs; a missing one means
        // every worker is gone, and the lines are parsed here instead.
        let Ok(mut fresh) = self.free.recv() else {
            return self.main.lines(buf, lines, filled);
        };
        fresh[..filled - lines].copy_from_slice(&buf[lines..filled]);
        let queue = &self.queues[self.next];
        self.next = (self.next + 1) % self.queues.len();
        if let Err(std::sync::mpsc::SendError((buf, _))) = queue.send((buf, lines)) {
            self.main.feed_lines(&buf[..lines]);
        }
        fresh
    }

    fn over_long_start(&mut self, head: &[u8]) {
        self.main.start_over_long(head);
    }

    fn over_long_end(&mut self, total: u64) {
        self.main.finish_over_long(total);
    }
}

/// Threads to parse on: one per CPU (the reading thread mostly waits on
/// read(2)), at most four.
pub fn default_workers() -> usize {
    thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}
