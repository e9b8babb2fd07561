//! One seccomp audit record (`type=1326` / `SECCOMP`), as parsed from a line.
//!
//! Values borrow from the input line: parsing a record allocates nothing.
//! Text fields keep their encoding (quoted, hex or plain) and are decoded
//! only when a filter or a message needs them.

use std::borrow::Cow;
use std::fmt;

/// The `arch=` field: an AUDIT_ARCH number (kernel, auditd) or a machine name
/// (`ausearch -i`: `x86_64`, `i386`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchField<'a> {
    Audit(u32),
    Name(&'a [u8]),
}

/// The `syscall=` field: the number the kernel saw (x32 bit included), or a
/// name (`ausearch -i`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallField<'a> {
    Number(u32),
    Name(&'a [u8]),
}

/// A numeric field that `ausearch -i` shows as a name (`uid=root`,
/// `sig=SIGSYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberOrName<'a> {
    Number(u32),
    Name(&'a [u8]),
}

impl NumberOrName<'_> {
    pub fn number(&self) -> Option<u32> {
        match self {
            NumberOrName::Number(n) => Some(*n),
            NumberOrName::Name(_) => None,
        }
    }
}

/// A text field (`comm=`, `exe=`) as the kernel encodes it: in quotes, or as
/// upper-case hex when the value holds a space, a quote, a control character
/// or a non-ASCII byte. `ausearch -i` prints it decoded (plain).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text<'a> {
    Quoted(&'a [u8]),
    Hex(&'a [u8]),
    Plain(&'a [u8]),
}

impl<'a> Text<'a> {
    /// The value's bytes; allocates only for hex.
    pub fn decode(&self) -> Cow<'a, [u8]> {
        match *self {
            Text::Quoted(b) | Text::Plain(b) => Cow::Borrowed(b),
            Text::Hex(h) => Cow::Owned(
                h.chunks_exact(2)
                    .filter_map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
                    .collect(),
            ),
        }
    }

    /// Whether the decoded value equals `want`, without allocating.
    pub fn equals(&self, want: &[u8]) -> bool {
        match *self {
            Text::Quoted(b) | Text::Plain(b) => b == want,
            Text::Hex(h) => {
                h.len() == want.len() * 2
                    && h.chunks_exact(2).zip(want).all(|(pair, &w)| {
                        matches!((hex_digit(pair[0]), hex_digit(pair[1])), (Some(hi), Some(lo)) if hi << 4 | lo == w)
                    })
            }
        }
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.decode()))
    }
}

pub(crate) fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// What the filter told the kernel to do (`code=`, the SECCOMP_RET_* action).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeccompAction {
    KillProcess,
    KillThread,
    /// `ausearch -i` prints `kill` for both kill actions.
    Kill,
    Trap,
    Errno,
    UserNotif,
    Trace,
    Log,
    Allow,
    /// A code no kernel release defines (the raw SECCOMP_RET_ACTION_FULL bits).
    Other(u32),
}

impl SeccompAction {
    /// The action of a raw `code=` value (its data bits are ignored).
    pub fn from_code(code: u32) -> SeccompAction {
        match code & 0xffff_0000 {
            0x8000_0000 => SeccompAction::KillProcess,
            0x0000_0000 => SeccompAction::KillThread,
            0x0003_0000 => SeccompAction::Trap,
            0x0005_0000 => SeccompAction::Errno,
            0x7fc0_0000 => SeccompAction::UserNotif,
            0x7ff0_0000 => SeccompAction::Trace,
            0x7ffc_0000 => SeccompAction::Log,
            0x7fff_0000 => SeccompAction::Allow,
            other => SeccompAction::Other(other),
        }
    }

    /// The action of an `ausearch -i` code name.
    pub fn from_interpreted(name: &[u8]) -> Option<SeccompAction> {
        Some(match name {
            b"kill" => SeccompAction::Kill,
            b"kill-process" | b"kill_process" => SeccompAction::KillProcess,
            b"kill-thread" | b"kill_thread" => SeccompAction::KillThread,
            b"trap" => SeccompAction::Trap,
            b"errno" => SeccompAction::Errno,
            b"user-notify" | b"user_notif" => SeccompAction::UserNotif,
            b"trace" => SeccompAction::Trace,
            b"log" => SeccompAction::Log,
            b"allow" => SeccompAction::Allow,
            _ => return None,
        })
    }

    /// The lower-case name used by `--action` and in messages.
    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            SeccompAction::KillProcess => "kill_process",
            SeccompAction::KillThread => "kill_thread",
            SeccompAction::Kill => "kill",
            SeccompAction::Trap => "trap",
            SeccompAction::Errno => "errno",
            SeccompAction::UserNotif => "user_notif",
            SeccompAction::Trace => "trace",
            SeccompAction::Log => "log",
            SeccompAction::Allow => "allow",
            SeccompAction::Other(code) => return Cow::Owned(format!("{code:#x}")),
        })
    }
}

/// `audit(SECONDS.MILLIS:SERIAL)`: when the kernel made the record, and the
/// event's serial number (unique per boot, shared by one event's records).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuditStamp {
    /// Seconds since the Unix epoch (UTC).
    pub secs: i64,
    pub millis: u32,
    pub serial: u64,
}

/// A parsed seccomp record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeccompRecord<'a> {
    pub arch: ArchField<'a>,
    pub syscall: SyscallField<'a>,
    pub compat: Option<bool>,
    pub action: SeccompAction,
    /// The raw `code=` (absent in `ausearch -i` output, which names it).
    pub code: Option<u32>,
    /// The host pid.
    pub pid: Option<u32>,
    pub comm: Option<Text<'a>>,
    pub exe: Option<Text<'a>>,
    pub uid: Option<NumberOrName<'a>>,
    pub sig: Option<NumberOrName<'a>>,
    /// The record's own time stamp; absent in journald's `audit[PID]:`
    /// text form, whose time is in the line's prefix.
    pub stamp: Option<AuditStamp>,
    /// What precedes the record on its line (syslog or journald prefix), for
    /// a time stamp when the record has none.
    pub prefix: &'a [u8],
}
