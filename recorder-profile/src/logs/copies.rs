//! Telling copies of one record from records: the same kernel record often
//! reaches a log twice, and the summary should count it once.
//!
//! - Two stamped copies (the same file read twice, kmsg and syslog merged)
//!   share their `audit(SECS.MILLIS:SERIAL)` stamp: [`RecentRecords`].
//! - journald's text output (`journalctl -o short*`) carries every record as
//!   the kernel's `audit: type=1326 audit(STAMP)` line and as journald's own
//!   `audit[PID]: SECCOMP ...` line, which has no stamp. Such a copy is paired
//!   with a stamped one of the same pid, arch, syscall and code that has not
//!   been paired yet: [`UnpairedCopies`]. The collector pairs only records
//!   its filters kept, so a stampless copy that a time filter drops (its time
//!   is journald's) never hides its stamped twin.
//!
//! Both are fixed tables indexed by a hash: constant memory, and a key pushed
//! out by a colliding one is forgotten, so a far-apart copy may be counted
//! twice. The profile is the same either way; only the summary's counts move.

use super::record::{ArchField, AuditStamp, SeccompRecord, SyscallField};

/// Slots per table: journald's two copies of one record sit close together,
/// well within this many records.
const SLOTS: usize = 1 << 13;

/// What makes two stamped records copies of one: stamp, pid and syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StampKey {
    stamp: AuditStamp,
    pid: Option<u32>,
    syscall: u32,
}

/// Recently seen stamped records.
#[derive(Debug)]
pub struct RecentRecords {
    slots: Box<[StampSlot]>,
}

/// A slot of [`RecentRecords`]: a [`StampKey`] or nothing, in 32 bytes
/// where `Option<StampKey>` takes 48. The tables are larger than a core's
/// cache, and most of their reads miss it: a smaller slot misses less.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct StampSlot {
    secs: i64,
    serial: u64,
    millis: u32,
    /// 0 when the key has no pid.
    pid: u32,
    syscall: u32,
    /// [`EMPTY`], or [`HELD`] with [`HAS_PID`].
    flags: u32,
}

const EMPTY: u32 = 0;
const HELD: u32 = 1;
const HAS_PID: u32 = 2;
const HAS_CODE: u32 = 4;

impl StampSlot {
    fn of(key: StampKey) -> StampSlot {
        StampSlot {
            secs: key.stamp.secs,
            serial: key.stamp.serial,
            millis: key.stamp.millis,
            pid: key.pid.unwrap_or(0),
            syscall: key.syscall,
            flags: HELD | if key.pid.is_some() { HAS_PID } else { EMPTY },
        }
    }
}

impl Default for RecentRecords {
    fn default() -> Self {
        RecentRecords {
            slots: vec![StampSlot::default(); SLOTS].into_boxed_slice(),
        }
    }
}

impl RecentRecords {
    /// Whether a copy of this record was seen recently; remembers it. A
    /// record without a stamp is never a copy here (see [`UnpairedCopies`]).
    pub fn is_copy(&mut self, record: &SeccompRecord<'_>) -> bool {
        let Some(stamp) = record.stamp else {
            return false;
        };
        let key = StampKey {
            stamp,
            pid: record.pid,
            syscall: syscall_key(record.syscall),
        };
        let held = StampSlot::of(key);
        let slot = &mut self.slots[key.slot()];
        if *slot == held {
            return true;
        }
        *slot = held;
        false
    }

    /// Reads the slot [`RecentRecords::is_copy`] will read for this record
    /// and returns a value of it, for the caller to pass to
    /// [`std::hint::black_box`]: a read whose result nothing waits for, so
    /// that the reads of many records overlap while they miss the cache.
    pub fn touch(&self, record: &SeccompRecord<'_>) -> u64 {
        let Some(stamp) = record.stamp else {
            return 0;
        };
        let key = StampKey {
            stamp,
            pid: record.pid,
            syscall: syscall_key(record.syscall),
        };
        self.slots[key.slot()].serial
    }
}

impl StampKey {
    fn slot(&self) -> usize {
        let mixed = self
            .stamp
            .serial
            .wrapping_add(self.stamp.secs as u64)
            .wrapping_add(u64::from(self.stamp.millis) << 20)
            .wrapping_add(u64::from(self.syscall) << 32);
        slot_of(mixed)
    }
}

/// What a stampless copy shares with its stamped twin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ContentKey {
    pid: Option<u32>,
    arch: u32,
    syscall: u32,
    code: Option<u32>,
}

/// Per content key, how many copies of one kind (stamped: positive,
/// stampless: negative) still wait for their twin.
#[derive(Debug)]
pub struct UnpairedCopies {
    slots: Box<[ContentSlot]>,
}

/// A slot of [`UnpairedCopies`]: a [`ContentKey`] and its count, or
/// nothing, in 24 bytes where `Option<(ContentKey, i32)>` takes 32 (see
/// [`StampSlot`]).
#[derive(Clone, Copy, Debug, Default)]
struct ContentSlot {
    /// 0 when the key has none.
    pid: u32,
    arch: u32,
    syscall: u32,
    /// 0 when the key has none.
    code: u32,
    /// [`EMPTY`], or [`HELD`] with [`HAS_PID`] and [`HAS_CODE`].
    flags: u32,
    waiting: i32,
}

impl ContentSlot {
    fn of(key: ContentKey, waiting: i32) -> ContentSlot {
        ContentSlot {
            pid: key.pid.unwrap_or(0),
            arch: key.arch,
            syscall: key.syscall,
            code: key.code.unwrap_or(0),
            flags: HELD
                | if key.pid.is_some() { HAS_PID } else { EMPTY }
                | if key.code.is_some() { HAS_CODE } else { EMPTY },
            waiting,
        }
    }

    fn holds(&self, other: &ContentSlot) -> bool {
        (self.pid, self.arch, self.syscall, self.code, self.flags)
            == (
                other.pid,
                other.arch,
                other.syscall,
                other.code,
                other.flags,
            )
    }
}

impl Default for UnpairedCopies {
    fn default() -> Self {
        UnpairedCopies {
            slots: vec![ContentSlot::default(); SLOTS].into_boxed_slice(),
        }
    }
}

impl UnpairedCopies {
    /// Registers a record that is not a stamped duplicate; `true` when it is
    /// the twin of an earlier, still unpaired copy of the other kind.
    pub fn is_twin(&mut self, record: &SeccompRecord<'_>) -> bool {
        let key = ContentKey::of(record);
        let step = if record.stamp.is_some() { 1 } else { -1 };
        let this = ContentSlot::of(key, step);
        let slot = &mut self.slots[key.slot()];
        if slot.holds(&this) {
            let twin = slot.waiting != 0 && slot.waiting.signum() == -step;
            slot.waiting = slot.waiting.saturating_add(step);
            twin
        } else {
            *slot = this;
            false
        }
    }
}

impl UnpairedCopies {
    /// As [`RecentRecords::touch`], for [`UnpairedCopies::is_twin`].
    pub fn touch(&self, record: &SeccompRecord<'_>) -> u64 {
        let key = ContentKey::of(record);
        self.slots[key.slot()].waiting as u64
    }
}

impl ContentKey {
    fn of(record: &SeccompRecord<'_>) -> ContentKey {
        ContentKey {
            pid: record.pid,
            arch: match record.arch {
                ArchField::Audit(audit) => audit,
                ArchField::Name(name) => hash_bytes(name),
            },
            syscall: syscall_key(record.syscall),
            code: record.code,
        }
    }

    fn slot(&self) -> usize {
        let mixed = u64::from(self.pid.unwrap_or(u32::MAX))
            .wrapping_add(u64::from(self.arch) << 16)
            .wrapping_add(u64::from(self.syscall) << 32)
            .wrapping_add(u64::from(self.code.unwrap_or(0)) << 40);
        slot_of(mixed)
    }
}

fn slot_of(mixed: u64) -> usize {
    (mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 51) as usize % SLOTS
}

fn syscall_key(syscall: SyscallField<'_>) -> u32 {
    match syscall {
        SyscallField::Number(n) => n,
        SyscallField::Name(name) => hash_bytes(name),
    }
}

fn hash_bytes(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::record::SeccompAction;

    fn record(stamp: Option<u64>, syscall: u32) -> SeccompRecord<'static> {
        SeccompRecord {
            arch: ArchField::Audit(0xc000_003e),
            syscall: SyscallField::Number(syscall),
            compat: Some(false),
            action: SeccompAction::Log,
            code: Some(0x7ffc_0000),
            pid: Some(42),
            comm: None,
            exe: None,
            uid: None,
            sig: None,
            stamp: stamp.map(|serial| AuditStamp {
                secs: 1,
                millis: 0,
                serial,
            }),
            prefix: b"",
        }
    }

    #[test]
    fn a_stamped_record_seen_again_is_a_copy() {
        let mut recent = RecentRecords::default();
        let r = record(Some(1), 0);
        assert!(!recent.is_copy(&r));
        assert!(recent.is_copy(&r));
        assert!(!recent.is_copy(&record(Some(2), 0)));
        let stampless = record(None, 0);
        assert!(!recent.is_copy(&stampless));
        assert!(!recent.is_copy(&stampless));
    }

    #[test]
    fn each_stampless_copy_pairs_with_one_stamped_copy() {
        let mut unpaired = UnpairedCopies::default();
        // Three calls of one syscall, each logged twice, in journald's order
        // (kernel copy first) and then with the copies bunched.
        let order = [
            record(Some(1), 0),
            record(None, 0),
            record(Some(2), 0),
            record(Some(3), 0),
            record(None, 0),
            record(None, 0),
        ];
        let twins: Vec<bool> = order.iter().map(|r| unpaired.is_twin(r)).collect();
        assert_eq!(twins, [false, true, false, false, true, true]);
    }

    #[test]
    fn records_of_one_kind_alone_are_never_twins() {
        let mut unpaired = UnpairedCopies::default();
        for serial in 0..5 {
            assert!(!unpaired.is_twin(&record(Some(serial), 0)));
        }
        let mut stampless = UnpairedCopies::default();
        for _ in 0..5 {
            assert!(!stampless.is_twin(&record(None, 0)));
        }
    }

    #[test]
    fn slots_are_smaller_than_options_and_tell_a_missing_pid_from_0() {
        assert_eq!(std::mem::size_of::<StampSlot>(), 32);
        assert_eq!(std::mem::size_of::<ContentSlot>(), 24);
        let mut without = record(Some(1), 0);
        without.pid = None;
        let mut zero = without;
        zero.pid = Some(0);
        let mut recent = RecentRecords::default();
        assert!(!recent.is_copy(&without));
        assert!(!recent.is_copy(&zero));
        assert!(!recent.is_copy(&without));
        let mut unpaired = UnpairedCopies::default();
        let stampless = |mut r: SeccompRecord<'static>| {
            r.stamp = None;
            r
        };
        assert!(!unpaired.is_twin(&without));
        assert!(!unpaired.is_twin(&stampless(zero)));
        let mut no_code = zero;
        no_code.code = None;
        assert!(!unpaired.is_twin(&no_code));
        let mut code_0 = zero;
        code_0.code = Some(0);
        assert!(!unpaired.is_twin(&stampless(code_0)));
        assert!(unpaired.is_twin(&stampless(without)));
    }

    #[test]
    fn a_different_syscall_is_not_a_twin() {
        let mut unpaired = UnpairedCopies::default();
        assert!(!unpaired.is_twin(&record(Some(1), 0)));
        assert!(!unpaired.is_twin(&record(None, 1)));
    }
}
