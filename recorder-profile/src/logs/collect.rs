//! Parsed lines -> filters -> a [`SyscallSet`], counting everything in a
//! [`Summary`]. Sources feed it chunks of complete lines, single lines, or
//! audit netlink bodies.

use std::collections::VecDeque;

use memchr::memchr_iter;

use super::audit_arch::from_machine_name;
use super::copies::{RecentRecords, UnpairedCopies};
use super::filter::{Filter, FilterOptions, FollowProcesses};
use super::parse::{Line, LossEvidence, Parser, Unparseable, parse_audit_message};
use super::record::{ArchField, SeccompAction, SeccompRecord, SyscallField};
use super::summary::{PrintkRateLimit, Summary};
use crate::arch::{Arch, X32_SYSCALL_BIT};
use crate::capture::SyscallSet;

/// Syscall numbers below this are collected in a bitmap per architecture
/// (every real one; others go to the set directly).
const BITMAP_NUMBERS: u32 = 4096;
const BITMAP_WORDS: usize = BITMAP_NUMBERS as usize / 64;

/// Records parsed from a chunk before they are counted, at most: see
/// [`Tally::take_batch`]. Small enough for the batch to stay in L1.
const BATCH: usize = 64;

/// Turns log input into a syscall set.
#[derive(Debug)]
pub struct Collector {
    parser: Parser,
    scratch: Vec<u8>,
    tally: Tally,
}

#[derive(Debug)]
struct Tally {
    filter: Filter,
    set: SyscallSet,
    summary: Summary,
    recent: RecentRecords,
    unpaired: UnpairedCopies,
    /// Per-record counting kept off maps and trees, folded into `set` and
    /// `summary` after each feed.
    pending: Pending,
    printk: PrintkWindow,
    /// Per line of a batch, whether it is a copy; reused.
    copies: Vec<bool>,
    /// The batch's records that pass the filters (their index) and whether
    /// each is a twin; reused.
    kept: Vec<(usize, bool)>,
}

/// The kernel-log records of the last printk interval, to find the
/// busiest one: records that came through printk are rate limited.
#[derive(Debug)]
struct PrintkWindow {
    limit: Option<PrintkRateLimit>,
    /// Time stamps in milliseconds, oldest first; at most twice the burst
    /// (more than printk passes in any interval), so a flood costs nothing.
    stamps: VecDeque<i64>,
    busiest: u64,
}

impl PrintkWindow {
    fn new(limit: Option<PrintkRateLimit>) -> PrintkWindow {
        PrintkWindow {
            limit,
            stamps: VecDeque::new(),
            busiest: 0,
        }
    }

    fn add(&mut self, millis: i64) {
        let Some(limit) = self.limit else {
            return;
        };
        // A new input, or lines out of order: measure afresh.
        if self.stamps.back().is_some_and(|&last| millis < last) {
            self.stamps.clear();
        }
        let span = i64::try_from(limit.interval_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        while self
            .stamps
            .front()
            .is_some_and(|&first| millis.saturating_sub(first) >= span)
        {
            self.stamps.pop_front();
        }
        if self.stamps.len() as u64 >= limit.burst.saturating_mul(2).max(1) {
            self.stamps.pop_front();
        }
        self.stamps.push_back(millis);
        self.busiest = self.busiest.max(self.stamps.len() as u64);
    }
}

/// Whether a record came through the kernel log (`audit: type=1326 ...`
/// in dmesg, /dev/kmsg, syslog or `journalctl -k`), which printk rate
/// limits, rather than from auditd or the audit socket.
fn through_printk(r: &SeccompRecord<'_>) -> bool {
    r.prefix.trim_ascii_end().ends_with(b"audit:")
}

#[derive(Debug)]
struct Pending {
    /// Per architecture (by `Arch as usize`): numbers seen, and numbers
    /// already in the set.
    seen: Vec<Option<Box<[[u64; BITMAP_WORDS]; 2]>>>,
    actions: [u64; ACTION_SLOTS],
}

const ACTION_SLOTS: usize = 9;

fn action_slot(action: SeccompAction) -> Option<usize> {
    Some(match action {
        SeccompAction::KillProcess => 0,
        SeccompAction::KillThread => 1,
        SeccompAction::Kill => 2,
        SeccompAction::Trap => 3,
        SeccompAction::Errno => 4,
        SeccompAction::UserNotif => 5,
        SeccompAction::Trace => 6,
        SeccompAction::Log => 7,
        SeccompAction::Allow => 8,
        SeccompAction::Other(_) => return None,
    })
}

const SLOT_ACTIONS: [SeccompAction; ACTION_SLOTS] = [
    SeccompAction::KillProcess,
    SeccompAction::KillThread,
    SeccompAction::Kill,
    SeccompAction::Trap,
    SeccompAction::Errno,
    SeccompAction::UserNotif,
    SeccompAction::Trace,
    SeccompAction::Log,
    SeccompAction::Allow,
];

impl Default for Pending {
    fn default() -> Self {
        Pending {
            seen: (0..Arch::ALL.len()).map(|_| None).collect(),
            actions: [0; ACTION_SLOTS],
        }
    }
}

impl Collector {
    /// A collector that measures kernel-log records against this host's
    /// printk rate limit.
    pub fn new(options: FilterOptions) -> Collector {
        Collector::with_parser(Parser::new(), options).printk_limit(PrintkRateLimit::of_host())
    }

    /// The printk rate limit kernel-log records are measured against
    /// (`None`: none); the kernel's default unless set.
    pub fn printk_limit(mut self, limit: Option<PrintkRateLimit>) -> Collector {
        self.tally.printk = PrintkWindow::new(limit);
        self.tally.summary.printk.limit = limit;
        self
    }

    pub fn with_parser(parser: Parser, options: FilterOptions) -> Collector {
        let filter = Filter::new(options, parser.time_zone().clone());
        Collector {
            parser,
            scratch: Vec::new(),
            tally: Tally {
                filter,
                set: SyscallSet::default(),
                summary: Summary::default(),
                recent: RecentRecords::default(),
                unpaired: UnpairedCopies::default(),
                pending: Pending::default(),
                printk: PrintkWindow::new(None),
                copies: Vec::with_capacity(BATCH),
                kept: Vec::with_capacity(BATCH),
            },
        }
        .printk_limit(Some(PrintkRateLimit::DEFAULT))
    }

    /// Complete lines, each ending in `\n` (the last one may lack it at the
    /// end of the input).
    pub fn feed_lines(&mut self, chunk: &[u8]) {
        let newlines = memchr_iter(b'\n', chunk).count() as u64;
        let unterminated = u64::from(chunk.last().is_some_and(|&b| b != b'\n'));
        self.tally.summary.lines += newlines + unterminated;
        self.tally.summary.bytes += chunk.len() as u64;
        let Collector {
            parser,
            scratch,
            tally,
        } = self;
        let mut batch = Vec::with_capacity(BATCH);
        parser.for_each_hit(chunk, |hit| {
            if hit.needs_decoding() {
                // Decoded lines borrow `scratch`, which the next one reuses:
                // counted on the spot, after the records before them.
                tally.take_batch(&mut batch);
                let line = parser.parse_hit(hit, scratch);
                tally.take(line);
            } else {
                batch.push(parser.parse_text(hit));
                if batch.len() == BATCH {
                    tally.take_batch(&mut batch);
                }
            }
        });
        tally.take_batch(&mut batch);
        tally.flush();
    }

    /// One line without its newline (kmsg records).
    pub fn feed_line(&mut self, line: &[u8]) {
        self.tally.summary.lines += 1;
        self.tally.summary.bytes += line.len() as u64 + 1;
        let line = self.parser.parse_line(line, &mut self.scratch);
        self.tally.take(line);
        self.tally.flush();
    }

    /// The start of a line longer than the reader's limit: `head` is what
    /// fitted; the rest is skipped.
    pub fn start_over_long(&mut self, head: &[u8]) {
        self.tally.summary.lines += 1;
        if self.parser.has_record_marker(head) {
            self.tally.take(Line::Unparseable(Unparseable::TooLong));
        } else {
            self.tally.summary.long_lines += 1;
        }
    }

    /// The end of an over-long line, `total_len` bytes with its newline.
    pub fn finish_over_long(&mut self, total_len: u64) {
        self.tally.summary.bytes += total_len;
    }

    /// The body of an AUDIT_SECCOMP netlink message.
    pub fn feed_netlink_seccomp(&mut self, body: &[u8]) {
        self.tally.summary.lines += 1;
        self.tally.summary.bytes += body.len() as u64;
        let line = parse_audit_message(body);
        self.tally.take(line);
        self.tally.flush();
    }

    /// An empty collector with the same parser and filters, for a parsing
    /// thread; see [`Collector::merge`].
    pub fn worker(&self) -> Collector {
        Collector::with_parser(self.parser.clone(), self.tally.filter.options().clone())
            .printk_limit(self.tally.printk.limit)
    }

    /// Adds what `other` collected.
    pub fn merge(&mut self, other: Collector) {
        let set = other.tally.set;
        for arch in set.architectures() {
            for &number in set.numbers(arch).into_iter().flatten() {
                self.tally.set.insert(arch, number);
            }
        }
        self.tally.summary.add(other.tally.summary);
    }

    pub fn summary(&self) -> &Summary {
        &self.tally.summary
    }

    pub fn summary_mut(&mut self) -> &mut Summary {
        &mut self.tally.summary
    }

    pub fn set(&self) -> &SyscallSet {
        &self.tally.set
    }

    pub fn filter_options(&self) -> &FilterOptions {
        self.tally.filter.options()
    }

    /// Counts the records of `processes` (and those they start) as the
    /// `--container`'s, even once they have exited.
    pub fn follow(&mut self, processes: impl FollowProcesses + 'static) {
        self.tally.filter.follow(processes);
    }
}

impl Tally {
    fn take(&mut self, line: Line<'_>) {
        match line {
            Line::Other => {}
            Line::Loss(evidence) => {
                let loss = &mut self.summary.loss;
                match evidence {
                    LossEvidence::CallbacksSuppressed(n) => loss.suppressed += n,
                    LossEvidence::LimitExceeded => loss.limit_exceeded += 1,
                    LossEvidence::Lost(n) => loss.audit_lost = loss.audit_lost.max(n),
                }
            }
            Line::Unparseable(why) => {
                self.summary.records += 1;
                *self.summary.unparseable.entry(why).or_default() += 1;
            }
            Line::Record(record) => {
                self.summary.records += 1;
                self.record(&record);
            }
        }
    }

    /// Lines in input order, counted as [`Tally::take`] would one by one.
    ///
    /// The duplicate tables are larger than a core's cache, so most of
    /// their reads miss it. Each table is consulted for the whole batch in
    /// a loop of its own, where one record's read does not wait for the
    /// previous record's, and the misses overlap. The order of the calls on
    /// each table is the input's, and neither table's answer depends on the
    /// steps in between, so the counts are those of the one-by-one path.
    fn take_batch(&mut self, lines: &mut Vec<Line<'_>>) {
        let mut copies = std::mem::take(&mut self.copies);
        let mut kept = std::mem::take(&mut self.kept);
        let mut touched = 0;
        for line in lines.iter() {
            if let Line::Record(r) = line {
                touched ^= self.recent.touch(r);
            }
        }
        std::hint::black_box(touched);
        copies.clear();
        copies.extend(lines.iter().map(|line| match line {
            Line::Record(r) => self.recent.is_copy(r),
            _ => false,
        }));
        kept.clear();
        for (i, (line, &copy)) in lines.iter().zip(&copies).enumerate() {
            match line {
                Line::Record(r) => {
                    self.summary.records += 1;
                    if copy {
                        self.summary.duplicates += 1;
                        continue;
                    }
                    self.printk_passed(r);
                    if self.passes(r) {
                        kept.push((i, false));
                    }
                }
                other => self.take(*other),
            }
        }
        let mut touched = 0;
        for &(i, _) in &kept {
            if let Some(Line::Record(r)) = lines.get(i) {
                touched ^= self.unpaired.touch(r);
            }
        }
        std::hint::black_box(touched);
        for (i, twin) in &mut kept {
            if let Some(Line::Record(r)) = lines.get(*i) {
                *twin = self.unpaired.is_twin(r);
            }
        }
        for &(i, twin) in &kept {
            if twin {
                self.summary.duplicates += 1;
            } else if let Some(Line::Record(r)) = lines.get(i) {
                self.count(r);
            }
        }
        lines.clear();
        self.copies = copies;
        self.kept = kept;
    }

    fn record(&mut self, r: &SeccompRecord<'_>) {
        if self.recent.is_copy(r) {
            self.summary.duplicates += 1;
            return;
        }
        self.printk_passed(r);
        if !self.passes(r) {
            return;
        }
        // After the filter: of journald's two copies, the stampless one may
        // fail a time filter its stamped twin passes, and must not hide it.
        if self.unpaired.is_twin(r) {
            self.summary.duplicates += 1;
            return;
        }
        self.count(r);
    }

    /// Before the filter: every record printk passed drew on its budget.
    fn printk_passed(&mut self, r: &SeccompRecord<'_>) {
        if let Some(stamp) = r.stamp
            && through_printk(r)
        {
            self.printk.add(
                stamp
                    .secs
                    .saturating_mul(1000)
                    .saturating_add(i64::from(stamp.millis)),
            );
            self.summary.printk.busiest = self.printk.busiest;
        }
    }

    /// Whether a record passes the filters; counts it when it does not.
    fn passes(&mut self, r: &SeccompRecord<'_>) -> bool {
        match self.filter.check(r) {
            Ok(()) => true,
            Err(reason) => {
                *self.summary.filtered.entry(reason).or_default() += 1;
                false
            }
        }
    }

    /// Counts a record that is used: its syscall and its action.
    fn count(&mut self, r: &SeccompRecord<'_>) {
        let Some(arch) = record_arch(r) else {
            let shown = match r.arch {
                ArchField::Audit(a) => format!("{a:x}"),
                ArchField::Name(n) => String::from_utf8_lossy(n).into_owned(),
            };
            *self.summary.unknown_arches.entry(shown).or_default() += 1;
            return;
        };
        let number = match r.syscall {
            SyscallField::Number(n) => n,
            SyscallField::Name(name) => {
                let name = String::from_utf8_lossy(name);
                match arch.table().number(&name) {
                    Some(n) => n,
                    None => {
                        *self
                            .summary
                            .unknown_names
                            .entry((arch, name.into_owned()))
                            .or_default() += 1;
                        return;
                    }
                }
            }
        };
        match self.pending.seen.get_mut(arch as usize) {
            Some(slot) if number < BITMAP_NUMBERS => {
                let bits = slot.get_or_insert_with(|| Box::new([[0; BITMAP_WORDS]; 2]));
                bits[0][number as usize / 64] |= 1 << (number % 64);
            }
            _ => self.set.insert(arch, number),
        }
        match action_slot(r.action) {
            Some(i) => self.pending.actions[i] += 1,
            None => *self.summary.matched.entry(r.action).or_default() += 1,
        }
    }

    /// Folds the per-record counters into the set and the summary.
    fn flush(&mut self) {
        for (arch, slot) in Arch::ALL.iter().zip(&mut self.pending.seen) {
            let Some(bits) = slot else { continue };
            let [seen, flushed] = &mut **bits;
            for (word, (s, f)) in seen.iter().zip(flushed.iter_mut()).enumerate() {
                let mut new = s & !*f;
                *f |= new;
                while new != 0 {
                    let bit = new.trailing_zeros();
                    new &= new - 1;
                    self.set.insert(*arch, word as u32 * 64 + bit);
                }
            }
        }
        for (i, n) in self.pending.actions.iter_mut().enumerate() {
            if *n > 0 {
                *self.summary.matched.entry(SLOT_ACTIONS[i]).or_default() += *n;
                *n = 0;
            }
        }
    }
}

/// The libseccomp architecture of a record.
pub fn record_arch(r: &SeccompRecord<'_>) -> Option<Arch> {
    let number = match r.syscall {
        SyscallField::Number(n) => n,
        SyscallField::Name(_) => 0,
    };
    match r.arch {
        ArchField::Audit(audit) => Arch::from_audit_arch(audit, number),
        ArchField::Name(name) => match from_machine_name(name)? {
            Arch::X86_64 if number & X32_SYSCALL_BIT != 0 => Some(Arch::X32),
            arch => Some(arch),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8]) -> Collector {
        let mut c = Collector::with_parser(
            Parser::with_time_zone(jiff::tz::TimeZone::UTC),
            FilterOptions::default(),
        );
        c.feed_lines(input);
        c
    }

    #[test]
    fn x86_compat_and_x32_numbers() {
        let c = collect(
            b"audit: type=1326 audit(1.0:1): pid=1 arch=40000003 syscall=20 compat=1 code=0x7ffc0000\n\
              audit: type=1326 audit(1.0:2): pid=1 arch=c000003e syscall=1073741863 compat=0 code=0x7ffc0000\n\
              audit: type=1326 audit(1.0:3): pid=1 arch=c000003e syscall=39 compat=0 code=0x7ffc0000\n",
        );
        let set = c.set();
        assert_eq!(
            set.numbers(Arch::X86)
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [20]
        );
        assert_eq!(
            set.numbers(Arch::X32)
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [0x4000_0000 | 39]
        );
        assert_eq!(Arch::X32.table().name(0x4000_0000 | 39), Some("getpid"));
        assert_eq!(
            set.numbers(Arch::X86_64)
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [39]
        );
        assert_eq!(Arch::X86.table().name(20), Some("getpid"));
        let (profile, _) = set.to_profile(38);
        assert!(profile.allowed_names().contains("getpid"));
        assert!(profile.architectures.contains(&Arch::X86));
        assert!(profile.architectures.contains(&Arch::X32));
    }

    #[test]
    fn duplicates_are_counted_once() {
        let line =
            b"audit: type=1326 audit(1.0:1): pid=1 arch=c000003e syscall=0 code=0x7ffc0000\n";
        let mut input = line.to_vec();
        input.extend_from_slice(line);
        let c = collect(&input);
        assert_eq!(c.summary().records, 2);
        assert_eq!(c.summary().duplicates, 1);
        assert_eq!(c.summary().matched_total(), 1);
    }

    fn kernel_line(secs: u64, millis: u64, serial: u64) -> String {
        format!(
            "[ 1.0] audit: type=1326 audit({secs}.{millis:03}:{serial}): pid=1 arch=c000003e syscall=39 code=0x7ffc0000\n"
        )
    }

    #[test]
    fn busiest_printk_interval_of_kernel_log_records() {
        // Ten within 5 s, then two more after a pause.
        let mut input: String = (0..10)
            .map(|i| kernel_line(100 + i * 400 / 1000, i * 400 % 1000, i))
            .collect();
        input += &kernel_line(110, 0, 20);
        input += &kernel_line(110, 1, 21);
        let c = collect(input.as_bytes());
        assert_eq!(c.summary().printk.busiest, 10);
        assert_eq!(
            c.summary().printk.at_limit(),
            Some(PrintkRateLimit::DEFAULT)
        );
        // Spread out: one per interval.
        let spread: String = (0..10).map(|i| kernel_line(100 + i * 5, 0, i)).collect();
        let c = collect(spread.as_bytes());
        assert_eq!(c.summary().printk.busiest, 1);
        assert_eq!(c.summary().printk.at_limit(), None);
    }

    /// Found by the fuzzer: seconds whose milliseconds overflow an i64.
    #[test]
    fn stamps_beyond_any_clock_do_not_overflow_the_printk_window() {
        let input = [
            kernel_line(1, 0, 1),
            kernel_line(1_795_441_451_795_441_464, 278, 2),
            kernel_line(i64::MAX as u64, 999, 3),
            kernel_line(0, 0, 4),
        ]
        .concat();
        let c = collect(input.as_bytes());
        assert_eq!(c.summary().records, 4);
    }

    #[test]
    fn records_of_auditd_and_journalds_audit_copy_are_not_rate_limited() {
        let input: String = (0..10)
            .map(|i| {
                format!("type=SECCOMP msg=audit(100.{i:03}:{i}): pid=1 arch=c000003e syscall=39 code=0x7ffc0000\n")
            })
            .collect();
        let c = collect(input.as_bytes());
        assert_eq!(c.summary().matched_total(), 10);
        assert_eq!(c.summary().printk.busiest, 0);
    }

    #[test]
    fn a_flood_is_counted_up_to_twice_the_burst() {
        let input: String = (0..1000).map(|i| kernel_line(100, 0, i)).collect();
        let c = collect(input.as_bytes());
        assert_eq!(c.summary().printk.busiest, 20);
        let off = {
            let mut c = Collector::with_parser(
                Parser::with_time_zone(jiff::tz::TimeZone::UTC),
                FilterOptions::default(),
            )
            .printk_limit(None);
            c.feed_lines(input.as_bytes());
            c
        };
        assert_eq!(off.summary().printk.busiest, 0);
        assert_eq!(off.summary().printk.at_limit(), None);
    }

    #[test]
    fn unknown_arch_is_counted() {
        let c = collect(b"type=1326 audit(1.0:1): arch=12345678 syscall=0 code=0x7ffc0000");
        assert_eq!(c.summary().lines, 1);
        assert_eq!(c.summary().unknown_arches.get("12345678"), Some(&1));
        assert!(c.set().is_empty());
    }
}
