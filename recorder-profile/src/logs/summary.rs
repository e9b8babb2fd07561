//! What a `recorder logs` run read, used and left out, for stderr: the
//! profile is only as complete as the log, so every skipped record and every
//! sign of lost records is reported.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use super::filter::FilterReason;
use super::parse::Unparseable;
use super::record::SeccompAction;
use crate::arch::Arch;
use crate::capture::UnnamedSyscall;

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub lines: u64,
    pub bytes: u64,
    /// Lines longer than the line limit that held no record marker.
    pub long_lines: u64,
    /// Seccomp records found (parsed or not).
    pub records: u64,
    /// Records that made it into the profile, by action.
    pub matched: BTreeMap<SeccompAction, u64>,
    /// The same record seen again (journald keeps both its kernel-log and
    /// its audit copy).
    pub duplicates: u64,
    pub filtered: BTreeMap<FilterReason, u64>,
    pub unparseable: BTreeMap<Unparseable, u64>,
    /// `arch=` values that name no known architecture.
    pub unknown_arches: BTreeMap<String, u64>,
    /// Syscall names (`ausearch -i`) that the architecture's table lacks.
    pub unknown_names: BTreeMap<(Arch, String), u64>,
    /// Numbers without a name, filled in when the profile is made.
    pub unknown_numbers: Vec<UnnamedSyscall>,
    pub loss: LossCounts,
    /// How close the records that came through the kernel log came to
    /// printk's rate limit.
    pub printk: PrintkBurst,
}

/// printk's rate limit: at most `burst` lines in `interval_secs` seconds
/// (`kernel.printk_ratelimit_burst`, `kernel.printk_ratelimit`). The kernel
/// applies it to the audit records it writes to its log when no audit
/// daemon takes them, and drops the rest; it says so ("callbacks
/// suppressed") only with the next line after the interval, so a log can
/// end at the limit with no sign of loss but the count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrintkRateLimit {
    pub burst: u64,
    pub interval_secs: u64,
}

impl PrintkRateLimit {
    /// The kernel's defaults.
    pub const DEFAULT: PrintkRateLimit = PrintkRateLimit {
        burst: 10,
        interval_secs: 5,
    };

    /// This host's limit (the kernel's defaults where /proc does not say);
    /// `None` when rate limiting is off (an interval of 0).
    pub fn of_host() -> Option<PrintkRateLimit> {
        let read = |name: &str| {
            std::fs::read_to_string(format!("/proc/sys/kernel/{name}"))
                .ok()?
                .trim()
                .parse::<u64>()
                .ok()
        };
        let limit = PrintkRateLimit {
            burst: read("printk_ratelimit_burst").unwrap_or(Self::DEFAULT.burst),
            interval_secs: read("printk_ratelimit").unwrap_or(Self::DEFAULT.interval_secs),
        };
        (limit.interval_secs > 0).then_some(limit)
    }

    /// How many records within one interval are "at or near" the limit:
    /// every other caller of printk_ratelimit() draws on the same budget, so
    /// a little under the burst may be all that came through.
    pub fn near(&self) -> u64 {
        (self.burst * 4).div_ceil(5).max(1)
    }
}

/// The busiest interval of the kernel-log records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrintkBurst {
    /// The limit the records are measured against; `None` when it is off.
    pub limit: Option<PrintkRateLimit>,
    /// The most kernel-log records within one interval of the limit.
    pub busiest: u64,
}

impl PrintkBurst {
    /// Whether the records reached the limit, so that more may have been
    /// dropped.
    pub fn at_limit(&self) -> Option<PrintkRateLimit> {
        self.limit.filter(|l| self.busiest >= l.near())
    }
}

/// Evidence of records lost before they reached the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LossCounts {
    /// Sum of `kauditd_printk_skb: N callbacks suppressed`.
    pub suppressed: u64,
    /// `audit: ... limit exceeded` / hold queue overflow lines.
    pub limit_exceeded: u64,
    /// Highest `audit_lost=` seen.
    pub audit_lost: u64,
    /// /dev/kmsg records overwritten before they were read.
    pub kmsg_overwritten: u64,
    /// Times the audit netlink socket's queue overflowed (ENOBUFS): each
    /// time one or more records were dropped.
    pub netlink_overruns: u64,
    /// The size of that queue, for the warning.
    pub netlink_queue_bytes: u64,
}

impl LossCounts {
    pub fn any(&self) -> bool {
        self.suppressed > 0
            || self.limit_exceeded > 0
            || self.audit_lost > 0
            || self.kmsg_overwritten > 0
            || self.netlink_overruns > 0
    }

    fn add(&mut self, other: LossCounts) {
        self.suppressed += other.suppressed;
        self.limit_exceeded += other.limit_exceeded;
        self.audit_lost = self.audit_lost.max(other.audit_lost);
        self.kmsg_overwritten += other.kmsg_overwritten;
        self.netlink_overruns += other.netlink_overruns;
        self.netlink_queue_bytes = self.netlink_queue_bytes.max(other.netlink_queue_bytes);
    }
}

fn add_counts<K: Ord>(into: &mut BTreeMap<K, u64>, from: BTreeMap<K, u64>) {
    for (key, n) in from {
        *into.entry(key).or_default() += n;
    }
}

impl Summary {
    /// Adds the counts of another part of the same input.
    pub fn add(&mut self, other: Summary) {
        self.lines += other.lines;
        self.bytes += other.bytes;
        self.long_lines += other.long_lines;
        self.records += other.records;
        self.duplicates += other.duplicates;
        add_counts(&mut self.matched, other.matched);
        add_counts(&mut self.filtered, other.filtered);
        add_counts(&mut self.unparseable, other.unparseable);
        add_counts(&mut self.unknown_arches, other.unknown_arches);
        add_counts(&mut self.unknown_names, other.unknown_names);
        self.unknown_numbers.extend(other.unknown_numbers);
        self.loss.add(other.loss);
        self.printk.limit = self.printk.limit.or(other.printk.limit);
        self.printk.busiest = self.printk.busiest.max(other.printk.busiest);
    }

    pub fn matched_total(&self) -> u64 {
        self.matched.values().sum()
    }

    pub fn filtered_total(&self) -> u64 {
        self.filtered.values().sum()
    }

    pub fn unparseable_total(&self) -> u64 {
        self.unparseable.values().sum()
    }

    /// The warning about lost records, naming the fix; `None` when the input
    /// shows no loss.
    pub fn loss_warning(&self) -> Option<String> {
        let l = &self.loss;
        if !l.any() {
            return None;
        }
        let mut signs = Vec::new();
        if l.suppressed > 0 {
            signs.push(format!(
                "printk rate limiting dropped {} audit lines (\"callbacks suppressed\")",
                l.suppressed
            ));
        }
        if l.limit_exceeded > 0 {
            signs.push(format!(
                "{} \"audit: ... limit exceeded\" messages",
                l.limit_exceeded
            ));
        }
        if l.audit_lost > 0 {
            signs.push(format!("the kernel counted audit_lost={}", l.audit_lost));
        }
        if l.kmsg_overwritten > 0 {
            signs.push(format!(
                "{} kernel log records were overwritten before they were read",
                l.kmsg_overwritten
            ));
        }
        if l.netlink_overruns > 0 {
            let times = match l.netlink_overruns {
                1 => "once".to_string(),
                n => format!("{n} times"),
            };
            signs.push(format!(
                "the audit socket's queue ({}) overflowed {times}, each time dropping one or more records",
                human_bytes(l.netlink_queue_bytes),
            ));
        }
        let only_the_socket = l.netlink_overruns > 0
            && l.suppressed == 0
            && l.limit_exceeded == 0
            && l.audit_lost == 0
            && l.kmsg_overwritten == 0;
        let fix = if only_the_socket {
            "The recorder fell behind the kernel: keep it running (not stopped, not starved of CPU) \
             while the workload runs, log fewer syscalls (run the workload under its recorded profile \
             with `recorder run --complain`, which logs only what the profile lacks), or have auditd \
             keep the records (`auditctl -b 8192`, records in /var/log/audit/audit.log) and read that file"
        } else {
            "Record with auditd running (`auditctl -b 8192`, records in /var/log/audit/audit.log) or \
             with `recorder logs --source audit`, which reads the kernel's audit socket without \
             printk's rate limit"
        };
        Some(format!(
            "warning: records were lost, the profile may be incomplete: {}. {fix}",
            signs.join("; ")
        ))
    }

    /// The warning that the kernel log's records reached printk's rate
    /// limit, so that more may have been dropped without a trace; `None`
    /// when they did not, or when a "callbacks suppressed" line already
    /// proves the loss ([`Summary::loss_warning`]).
    pub fn printk_warning(&self) -> Option<String> {
        let limit = self.printk.at_limit()?;
        if self.loss.suppressed > 0 {
            return None;
        }
        Some(format!(
            "warning: records may have been dropped: {} of the kernel log's seccomp records fall within {} s, \
             at or near printk's limit of {} per {} s (kernel.printk_ratelimit_burst, kernel.printk_ratelimit), \
             past which it drops them without a trace. Record with `recorder logs --source audit`, or with auditd \
             running (records in /var/log/audit/audit.log)",
            self.printk.busiest, limit.interval_secs, limit.burst, limit.interval_secs
        ))
    }
}

impl fmt::Display for Summary {
    /// Several lines, each starting with `recorder: `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let _ = write!(
            out,
            "recorder: read {} ({}), {}: {} used",
            counted(self.lines, "line"),
            human_bytes(self.bytes),
            counted(self.records, "seccomp record"),
            self.matched_total()
        );
        if !self.matched.is_empty() {
            let by_action: Vec<String> = self
                .matched
                .iter()
                .map(|(a, n)| format!("{} {n}", a.name()))
                .collect();
            let _ = write!(out, " ({})", by_action.join(", "));
        }
        let _ = write!(
            out,
            ", {} filtered out, {} unparseable",
            self.filtered_total(),
            self.unparseable_total()
        );
        if self.duplicates > 0 {
            let _ = write!(out, ", {} duplicates", self.duplicates);
        }
        out.push('\n');
        for (reason, n) in &self.filtered {
            let _ = writeln!(out, "recorder:   filtered out: {n} {}", reason.describe());
        }
        for (reason, n) in &self.unparseable {
            let _ = writeln!(out, "recorder:   unparseable: {n} {}", reason.describe());
        }
        if self.long_lines > 0 {
            let _ = writeln!(
                out,
                "recorder:   skipped {} over-long lines without a record",
                self.long_lines
            );
        }
        for (arch, n) in &self.unknown_arches {
            let _ = writeln!(
                out,
                "recorder:   {n} records with unknown arch={arch} left out"
            );
        }
        for ((arch, name), n) in &self.unknown_names {
            let _ = writeln!(
                out,
                "recorder:   warning: {n} records name syscall {name:?}, unknown on {arch}; left out"
            );
        }
        let mut by_arch: BTreeMap<Arch, Vec<u32>> = BTreeMap::new();
        for u in &self.unknown_numbers {
            by_arch.entry(u.arch).or_default().push(u.number);
        }
        for (arch, numbers) in by_arch {
            let list: Vec<String> = numbers.iter().map(u32::to_string).collect();
            let _ = writeln!(
                out,
                "recorder:   warning: syscall numbers without a name on {arch}: {} (not in the profile; they will be denied)",
                list.join(", ")
            );
        }
        if let Some(warning) = self.loss_warning() {
            let _ = writeln!(out, "recorder: {warning}");
        }
        if let Some(warning) = self.printk_warning() {
            let _ = writeln!(out, "recorder: {warning}");
        }
        f.write_str(out.trim_end_matches('\n'))
    }
}

/// `1 line`, `2 lines`.
fn counted(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_warning_names_the_fix() {
        let mut s = Summary::default();
        assert!(s.loss_warning().is_none());
        s.loss.suppressed = 20;
        let w = s.loss_warning().unwrap();
        assert!(
            w.contains("20 audit lines") && w.contains("--source audit") && w.contains("auditd"),
            "{w}"
        );
    }

    #[test]
    fn an_overflowing_audit_socket_names_its_own_fix() {
        let mut s = Summary::default();
        s.loss.netlink_overruns = 3;
        s.loss.netlink_queue_bytes = 4608;
        assert_eq!(
            s.loss_warning().unwrap(),
            "warning: records were lost, the profile may be incomplete: the audit socket's queue (4.5 KiB) \
             overflowed 3 times, each time dropping one or more records. The recorder fell behind the \
             kernel: keep it running (not stopped, not starved of CPU) while the workload runs, log fewer \
             syscalls (run the workload under its recorded profile with `recorder run --complain`, which \
             logs only what the profile lacks), or have auditd keep the records (`auditctl -b 8192`, \
             records in /var/log/audit/audit.log) and read that file"
        );
        s.loss.netlink_overruns = 0;
        assert!(s.loss_warning().is_none(), "a queue size alone is no loss");
    }

    #[test]
    fn printk_warning_at_or_near_the_burst() {
        let limit = PrintkRateLimit::DEFAULT;
        let mut s = Summary {
            printk: PrintkBurst {
                limit: Some(limit),
                busiest: 7,
            },
            ..Default::default()
        };
        assert_eq!(limit.near(), 8);
        assert!(s.printk_warning().is_none());
        s.printk.busiest = 8;
        let w = s.printk_warning().unwrap();
        assert!(
            w.starts_with("warning: records may have been dropped: 8 of the kernel log's seccomp records fall within 5 s, at or near printk's limit of 10 per 5 s")
                && w.contains("--source audit")
                && w.contains("auditd"),
            "{w}"
        );
        // A suppression line proves the loss; its warning says it all.
        s.loss.suppressed = 3;
        assert!(s.printk_warning().is_none());
        s.loss.suppressed = 0;
        // Rate limiting off.
        s.printk.limit = None;
        assert!(s.printk_warning().is_none());
    }

    #[test]
    fn renders_counts() {
        let mut s = Summary {
            lines: 10,
            bytes: 2048,
            records: 4,
            ..Default::default()
        };
        s.matched.insert(SeccompAction::Log, 2);
        s.filtered.insert(FilterReason::Pid, 1);
        s.unparseable.insert(Unparseable::Truncated, 1);
        s.unknown_numbers.push(UnnamedSyscall {
            arch: Arch::X86_64,
            number: 999,
        });
        let text = s.to_string();
        assert!(text.starts_with("recorder: read 10 lines (2.0 KiB), 4 seccomp records: 2 used (log 2), 1 filtered out, 1 unparseable"), "{text}");
        assert!(text.contains("1 other pid (--pid)"), "{text}");
        assert!(text.contains("1 truncated (no code= field)"), "{text}");
        assert!(text.contains("on x86_64: 999"), "{text}");
    }
}
