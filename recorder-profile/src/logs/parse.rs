//! The line parser: finds a seccomp record in one line of any log shape and
//! parses its fields.
//!
//! Every shape carries the kernel's record text after a recognisable marker,
//! so the parser does not classify the prefix (dmesg, kmsg, syslog, journald
//! text): it looks for `type=1326`, `type=SECCOMP` or journald's
//! `SECCOMP auid=` and parses from there. Only journald's JSON export needs
//! decoding first. Lines with evidence of lost records (printk rate limiting,
//! audit backlog overflow) are reported too.
//!
//! Never panics, whatever the bytes; nothing is allocated for a line that
//! holds no marker.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind, packed};
use memchr::{memchr, memrchr};

use super::record::{
    ArchField, AuditStamp, NumberOrName, SeccompAction, SeccompRecord, SyscallField, Text,
};
use super::time;

/// What one line holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Record(SeccompRecord<'a>),
    /// The kernel said it dropped audit records.
    Loss(LossEvidence),
    /// A seccomp record that cannot be used, and why.
    Unparseable(Unparseable),
    /// Not a seccomp record.
    Other,
}

/// Signs in the log that records were dropped before they were written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossEvidence {
    /// `kauditd_printk_skb: N callbacks suppressed`: printk rate limiting
    /// dropped N audit lines.
    CallbacksSuppressed(u64),
    /// `audit: backlog limit exceeded`, `rate limit exceeded`, `printk limit
    /// exceeded`, `kauditd hold queue overflow`.
    LimitExceeded,
    /// `audit_lost=N`: the kernel's running count of lost records.
    Lost(u64),
}

/// Why a line with a seccomp marker gave no record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unparseable {
    /// No `audit(...)` time stamp after `type=`.
    NoStamp,
    BadStamp,
    MissingArch,
    MissingSyscall,
    /// No `code=`, the record's last field: the line was cut short, and a
    /// cut `syscall=` value could name the wrong syscall.
    Truncated,
    BadArch,
    BadSyscall,
    BadCode,
    /// A journald JSON line that is not valid JSON or has no MESSAGE.
    BadJson,
    /// Longer than the reader's line limit.
    TooLong,
}

impl Unparseable {
    /// A short description for the summary.
    pub fn describe(&self) -> &'static str {
        match self {
            Unparseable::NoStamp => "no audit(...) time stamp",
            Unparseable::BadStamp => "malformed audit(...) time stamp",
            Unparseable::MissingArch => "no arch= field",
            Unparseable::MissingSyscall => "no syscall= field",
            Unparseable::Truncated => "truncated (no code= field)",
            Unparseable::BadArch => "malformed arch= value",
            Unparseable::BadSyscall => "malformed syscall= value",
            Unparseable::BadCode => "malformed code= value",
            Unparseable::BadJson => "malformed journald JSON",
            Unparseable::TooLong => "line too long",
        }
    }
}

/// The markers searched for, in pattern order.
const MARKERS: [&str; 7] = [
    "type=1326",
    "type=SECCOMP",
    "SECCOMP auid=",
    "kauditd_printk_skb:",
    "limit exceeded",
    "audit_lost=",
    "hold queue overflow",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Marker {
    /// `type=1326 audit(...)` (kernel log) or `type=SECCOMP msg=audit(...)`.
    Typed,
    /// journald's audit transport: `SECCOMP auid=...` with no stamp.
    Bare,
    Suppressed,
    LimitExceeded,
    Lost,
}

impl Marker {
    fn of_pattern(index: usize) -> Marker {
        match index {
            0 | 1 => Marker::Typed,
            2 => Marker::Bare,
            3 => Marker::Suppressed,
            5 => Marker::Lost,
            _ => Marker::LimitExceeded,
        }
    }
}

/// Finds and parses seccomp records. Build one and reuse it: building the
/// marker automaton is the costly part.
#[derive(Clone, Debug)]
pub struct Parser {
    markers: Markers,
    tz: jiff::tz::TimeZone,
}

/// The marker search: Teddy, the SIMD multi-substring searcher, called
/// directly where the CPU has it (x86_64, aarch64). Through [`AhoCorasick`]
/// every search would pass an automaton and a prefilter object (two more
/// dynamic calls and their set-up) before reaching the same Teddy, and the
/// scan calls it once per record. Both report the leftmost match, the
/// first pattern of the list winning a tie, so the results are the same.
#[derive(Clone, Debug)]
enum Markers {
    Teddy(packed::Searcher),
    Automaton(AhoCorasick),
}

/// A marker found: its pattern index and where it lies.
struct Found {
    pattern: usize,
    start: usize,
    end: usize,
}

impl Markers {
    fn new() -> Markers {
        Markers::teddy().unwrap_or_else(Markers::automaton)
    }

    fn teddy() -> Option<Markers> {
        packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(MARKERS)
            .build()
            .map(Markers::Teddy)
    }

    fn automaton() -> Markers {
        Markers::Automaton(
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostFirst)
                .build(MARKERS)
                .expect("the marker patterns are valid"),
        )
    }

    /// The first marker in `haystack[from..]`.
    fn find(&self, haystack: &[u8], from: usize) -> Option<Found> {
        let m = match self {
            Markers::Teddy(searcher) => {
                searcher.find_in(haystack, aho_corasick::Span::from(from..haystack.len()))
            }
            Markers::Automaton(ac) => ac.find(Input::new(haystack).span(from..haystack.len())),
        }?;
        Some(Found {
            pattern: m.pattern().as_usize(),
            start: m.start(),
            end: m.end(),
        })
    }
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

/// Where the scanner found a marker: the line and the marker's offset in it.
pub(crate) struct Hit<'a> {
    pub line: &'a [u8],
    marker: Marker,
    at: usize,
    len: usize,
}

impl Hit<'_> {
    /// Whether the record must be decoded before it is parsed (journald
    /// JSON), into a buffer that the next such line reuses.
    pub(crate) fn needs_decoding(&self) -> bool {
        self.line.first() == Some(&b'{')
    }
}

impl Parser {
    pub fn new() -> Parser {
        Parser::with_time_zone(jiff::tz::TimeZone::system())
    }

    /// A parser that reads local times (`ausearch -i`, syslog) in `tz`.
    pub fn with_time_zone(tz: jiff::tz::TimeZone) -> Parser {
        Parser {
            markers: Markers::new(),
            tz,
        }
    }

    pub fn time_zone(&self) -> &jiff::tz::TimeZone {
        &self.tz
    }

    /// Parses one line (without its newline). `scratch` holds decoded text
    /// for shapes that need decoding (journald JSON); reuse it across lines.
    pub fn parse_line<'a>(&self, line: &'a [u8], scratch: &'a mut Vec<u8>) -> Line<'a> {
        match self.markers.find(line, 0) {
            None => Line::Other,
            Some(m) => self.parse_hit(
                Hit {
                    line,
                    marker: Marker::of_pattern(m.pattern),
                    at: m.start,
                    len: m.end - m.start,
                },
                scratch,
            ),
        }
    }

    /// Calls `each` with every line of `chunk` (complete lines) that holds
    /// a marker. Lines without one are skipped at the speed of the marker
    /// search and never looked at one by one.
    pub(crate) fn for_each_hit<'a>(&self, chunk: &'a [u8], mut each: impl FnMut(Hit<'a>)) {
        let mut from = 0;
        while from < chunk.len() {
            let Some(m) = self.markers.find(chunk, from) else {
                break;
            };
            let start = memrchr(b'\n', &chunk[from..m.start]).map_or(from, |i| from + i + 1);
            let end = memchr(b'\n', &chunk[m.start..]).map_or(chunk.len(), |i| m.start + i);
            each(Hit {
                line: &chunk[start..end],
                marker: Marker::of_pattern(m.pattern),
                at: m.start - start,
                len: m.end - m.start,
            });
            from = end + 1;
        }
    }

    /// Whether `bytes` hold a marker (used on the head of an over-long line).
    pub(crate) fn has_record_marker(&self, bytes: &[u8]) -> bool {
        let mut from = 0;
        while let Some(m) = self.markers.find(bytes, from) {
            if m.pattern < 3 {
                return true;
            }
            from = m.end;
        }
        false
    }

    pub(crate) fn parse_hit<'a>(&self, hit: Hit<'a>, scratch: &'a mut Vec<u8>) -> Line<'a> {
        if hit.needs_decoding() {
            self.parse_journal_json(hit.line, scratch)
        } else {
            self.parse_text(hit)
        }
    }

    /// Parses a hit's line where it lies, so that the result borrows only
    /// the input: for hits that do not [need decoding](Hit::needs_decoding).
    pub(crate) fn parse_text<'a>(&self, hit: Hit<'a>) -> Line<'a> {
        let line = hit.line;
        let after = &line[hit.at + hit.len..];
        match hit.marker {
            Marker::Typed => self.parse_typed(line, hit.at, after),
            Marker::Bare => {
                // Back up to `auid=`: the marker ends just after it.
                let body = &line[hit.at + "SECCOMP ".len()..];
                match parse_fields(body, false) {
                    Ok(fields) => Line::Record(fields.into_record(None, &line[..hit.at])),
                    Err(e) => Line::Unparseable(e),
                }
            }
            Marker::Suppressed => match strip_spaces(after)
                .split(|&b| b == b' ')
                .next()
                .and_then(parse_dec64)
            {
                Some(n) if after.windows(10).any(|w| w == b"suppressed") => {
                    Line::Loss(LossEvidence::CallbacksSuppressed(n))
                }
                _ => Line::Other,
            },
            Marker::Lost => {
                let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
                match parse_dec64(&after[..digits]) {
                    Some(n) if n > 0 => Line::Loss(LossEvidence::Lost(n)),
                    _ => Line::Other,
                }
            }
            Marker::LimitExceeded => {
                if line[..hit.at].windows(6).any(|w| w == b"audit:") {
                    Line::Loss(LossEvidence::LimitExceeded)
                } else {
                    Line::Other
                }
            }
        }
    }

    /// `type=1326 audit(S.MS:N): fields` or
    /// `type=SECCOMP msg=audit(S.MS:N): fields [0x1d enriched]` or
    /// `type=SECCOMP msg=audit(MM/DD/YY HH:MM:SS.MS:N) : fields` (ausearch -i).
    fn parse_typed<'a>(&self, line: &'a [u8], at: usize, after: &'a [u8]) -> Line<'a> {
        if after.first() != Some(&b' ') {
            return Line::Other;
        }
        let rest = strip_spaces(after);
        let rest = rest.strip_prefix(b"msg=").unwrap_or(rest);
        let Some(rest) = rest.strip_prefix(b"audit(") else {
            return Line::Unparseable(Unparseable::NoStamp);
        };
        let Some(close) = find_byte(b')', rest) else {
            return Line::Unparseable(Unparseable::BadStamp);
        };
        let inside = &rest[..close];
        let interpreted = find_byte(b'/', inside).is_some();
        let stamp = if interpreted {
            time::parse_interpreted_stamp(inside, &self.tz)
        } else {
            parse_stamp(inside)
        };
        let Some(stamp) = stamp else {
            return Line::Unparseable(Unparseable::BadStamp);
        };
        let body = strip_spaces(&rest[close + 1..]);
        let Some(body) = body.strip_prefix(b":") else {
            return Line::Unparseable(Unparseable::BadStamp);
        };
        match parse_fields(body, interpreted) {
            Ok(fields) => Line::Record(fields.into_record(Some(stamp), &line[..at])),
            Err(e) => Line::Unparseable(e),
        }
    }

    /// A `journalctl -o json` line: the record is in MESSAGE; journald's
    /// audit transport adds the stamp as `_SOURCE_REALTIME_TIMESTAMP` and
    /// `_AUDIT_ID`.
    fn parse_journal_json<'a>(&self, line: &'a [u8], scratch: &'a mut Vec<u8>) -> Line<'a> {
        let (message, stamp) = match FlatEntry::read(line) {
            Some(flat) => {
                let stamp = journal_stamp(flat.source_time, flat.audit_id);
                let message: &'a [u8] = match flat.message {
                    Some(JsonString {
                        raw,
                        escaped: false,
                    }) => raw,
                    Some(JsonString { raw, escaped: true }) => {
                        unescape_simple(raw, scratch);
                        scratch.as_slice()
                    }
                    None => return Line::Unparseable(Unparseable::BadJson),
                };
                (message, stamp)
            }
            None => {
                let Ok(entry) = serde_json::from_slice::<JournalEntry<'_>>(line) else {
                    return Line::Unparseable(Unparseable::BadJson);
                };
                let stamp = journal_stamp(
                    entry.source_time.as_deref().map(str::as_bytes),
                    entry.audit_id.as_deref().map(str::as_bytes),
                );
                scratch.clear();
                match entry.message {
                    Some(JournalMessage::Text(text)) => scratch.extend_from_slice(text.as_bytes()),
                    Some(JournalMessage::Bytes(bytes)) => scratch.extend_from_slice(&bytes),
                    None => return Line::Unparseable(Unparseable::BadJson),
                }
                let message: &'a [u8] = scratch.as_slice();
                (message, stamp)
            }
        };
        let Some(m) = self.markers.find(message, 0) else {
            return Line::Other;
        };
        let marker = Marker::of_pattern(m.pattern);
        let after = &message[m.end..];
        match marker {
            Marker::Typed => self.parse_typed(message, m.start, after),
            Marker::Bare => match parse_fields(&message[m.start + "SECCOMP ".len()..], false) {
                Ok(fields) => Line::Record(fields.into_record(stamp, b"")),
                Err(e) => Line::Unparseable(e),
            },
            _ => Line::Other,
        }
    }
}

/// The text of an audit netlink message of type AUDIT_SECCOMP:
/// `audit(S.MS:N): fields` (no marker to search for, so no [`Parser`]).
pub fn parse_audit_message(body: &[u8]) -> Line<'_> {
    let Some(rest) = body.strip_prefix(b"audit(") else {
        return Line::Unparseable(Unparseable::NoStamp);
    };
    let Some(close) = memchr(b')', rest) else {
        return Line::Unparseable(Unparseable::BadStamp);
    };
    let Some(stamp) = parse_stamp(&rest[..close]) else {
        return Line::Unparseable(Unparseable::BadStamp);
    };
    let Some(fields) = rest[close + 1..].strip_prefix(b":") else {
        return Line::Unparseable(Unparseable::BadStamp);
    };
    // The kernel may end the payload with a NUL.
    let fields = fields.split(|&b| b == 0).next().unwrap_or(fields);
    match parse_fields(fields, false) {
        Ok(f) => Line::Record(f.into_record(Some(stamp), b"")),
        Err(e) => Line::Unparseable(e),
    }
}

/// journald's audit transport stamp: `_SOURCE_REALTIME_TIMESTAMP` in
/// microseconds and `_AUDIT_ID`.
fn journal_stamp(source_time: Option<&[u8]>, audit_id: Option<&[u8]>) -> Option<AuditStamp> {
    let (us, serial) = (
        parse_number::<i64>(source_time?)?,
        parse_number::<u64>(audit_id?)?,
    );
    Some(AuditStamp {
        secs: us.div_euclid(1_000_000),
        millis: (us.rem_euclid(1_000_000) / 1000) as u32,
        serial,
    })
}

/// A number as `str::parse` reads it; plain digits without its UTF-8 check
/// and generic loop.
fn parse_number<T: std::str::FromStr + TryFrom<u64>>(text: &[u8]) -> Option<T> {
    match parse_dec64(text) {
        Some(n) => T::try_from(n).ok(),
        None => std::str::from_utf8(text).ok()?.parse().ok(),
    }
}

/// The fields of a journald JSON line read without serde_json, for the
/// lines journald writes: one flat object of string values, no
/// whitespace, printable ASCII, no `\u` escape. [`FlatEntry::read`]
/// declines every other line (serde_json then decides), and for each line
/// it accepts it reads what serde_json reads, so that the answer is the
/// same at a fraction of the cost (no UTF-8 check, no allocation).
#[derive(Debug, Default, PartialEq)]
struct FlatEntry<'a> {
    message: Option<JsonString<'a>>,
    source_time: Option<&'a [u8]>,
    audit_id: Option<&'a [u8]>,
}

/// A JSON string's text between its quotes, as written.
#[derive(Clone, Copy, Debug, PartialEq)]
struct JsonString<'a> {
    raw: &'a [u8],
    /// Whether it holds escapes (only the one-letter ones).
    escaped: bool,
}

impl<'a> FlatEntry<'a> {
    fn read(line: &'a [u8]) -> Option<FlatEntry<'a>> {
        // Control characters are not allowed in strings (or are whitespace
        // outside them), and other bytes need a UTF-8 check: serde_json's.
        let unusual = line
            .iter()
            .fold(false, |any, &b| any | !(0x20..0x7f).contains(&b));
        if unusual {
            return None;
        }
        let mut rest = line.strip_prefix(b"{")?;
        let mut entry = FlatEntry::default();
        loop {
            let (key, after) = json_string(rest)?;
            let (value, after) = json_string(after.strip_prefix(b":")?)?;
            // A duplicate field is an error to serde; an escaped key could
            // spell a field's name.
            let slot = match key {
                JsonString { escaped: true, .. } => return None,
                JsonString {
                    raw: b"MESSAGE", ..
                } => {
                    if entry.message.replace(value).is_some() {
                        return None;
                    }
                    None
                }
                JsonString {
                    raw: b"_SOURCE_REALTIME_TIMESTAMP",
                    ..
                } => Some(&mut entry.source_time),
                JsonString {
                    raw: b"_AUDIT_ID", ..
                } => Some(&mut entry.audit_id),
                _ => None,
            };
            if let Some(slot) = slot
                && (value.escaped || slot.replace(value.raw).is_some())
            {
                return None;
            }
            match after.split_first()? {
                (b',', next) => rest = next,
                (b'}', []) => return Some(entry),
                _ => return None,
            }
        }
    }
}

/// A JSON string at the start of `bytes` and what follows it; `None` for
/// anything but a string with at most one-letter escapes.
fn json_string(bytes: &[u8]) -> Option<(JsonString<'_>, &[u8])> {
    let inner = bytes.strip_prefix(b"\"")?;
    let mut escaped = false;
    let mut at = 0;
    loop {
        at = quote_or_backslash(inner, at)?;
        if inner[at] == b'"' {
            let string = JsonString {
                raw: &inner[..at],
                escaped,
            };
            return Some((string, &inner[at + 1..]));
        }
        if !matches!(
            inner.get(at + 1)?,
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't'
        ) {
            return None;
        }
        escaped = true;
        at += 2;
    }
}

/// The first `"` or `\` at or after `from`: a word at a time over the first
/// few words, as most strings of a journald line are shorter than a SIMD
/// search's set-up, then SIMD (MESSAGE is long).
fn quote_or_backslash(bytes: &[u8], mut from: usize) -> Option<usize> {
    const QUOTES: u64 = 0x2222_2222_2222_2222;
    const BACKSLASHES: u64 = 0x5c5c_5c5c_5c5c_5c5c;
    let words_end = from.saturating_add(32);
    while from < bytes.len() {
        if from >= words_end {
            return memchr::memchr2(b'"', b'\\', &bytes[from..]).map(|i| from + i);
        }
        // Zeros past the end are neither.
        let word = word_at(bytes, from);
        let found = zero_bytes(word ^ QUOTES) | zero_bytes(word ^ BACKSLASHES);
        if found != 0 {
            return Some(from + (found.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    None
}

/// Decodes a string [`json_string`] accepted into `out`.
fn unescape_simple(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut rest = raw;
    while let Some(i) = memchr(b'\\', rest) {
        out.extend_from_slice(&rest[..i]);
        out.push(match rest.get(i + 1) {
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(&other) => other,
            None => break,
        });
        rest = rest.get(i + 2..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
}

#[derive(serde::Deserialize)]
struct JournalEntry<'a> {
    #[serde(rename = "MESSAGE", borrow)]
    message: Option<JournalMessage<'a>>,
    #[serde(rename = "_SOURCE_REALTIME_TIMESTAMP", borrow)]
    source_time: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "_AUDIT_ID", borrow)]
    audit_id: Option<std::borrow::Cow<'a, str>>,
}

/// journald writes MESSAGE as an array of bytes when it is not UTF-8.
///
/// Deserialized by hand: serde's `untagged` would first copy every value
/// into a buffer of its own (an allocation and a copy per line) to try the
/// variants in turn, where the JSON type alone says which one it is.
enum JournalMessage<'a> {
    Text(std::borrow::Cow<'a, str>),
    Bytes(Vec<u8>),
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for JournalMessage<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = JournalMessage<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an array of bytes")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(JournalMessage::Text(std::borrow::Cow::Borrowed(text)))
            }

            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(JournalMessage::Text(std::borrow::Cow::Owned(
                    text.to_owned(),
                )))
            }

            fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
                Ok(JournalMessage::Text(std::borrow::Cow::Owned(text)))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(byte) = seq.next_element::<u8>()? {
                    bytes.push(byte);
                }
                Ok(JournalMessage::Bytes(bytes))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

fn strip_spaces(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ').count();
    &b[n..]
}

/// `SECONDS.MILLIS:SERIAL`.
fn parse_stamp(inside: &[u8]) -> Option<AuditStamp> {
    let colon = find_byte(b':', inside)?;
    let (time, serial) = (&inside[..colon], &inside[colon + 1..]);
    let dot = find_byte(b'.', time)?;
    let secs = parse_dec64(&time[..dot])?;
    let millis = parse_dec64(&time[dot + 1..])?;
    Some(AuditStamp {
        secs: i64::try_from(secs).ok()?,
        millis: u32::try_from(millis).ok().filter(|&m| m < 1000)?,
        serial: parse_dec64(serial)?,
    })
}

#[inline]
pub(crate) fn parse_dec64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b.len() < 20 {
        // 19 digits never overflow a u64: no checked arithmetic.
        let mut n: u64 = 0;
        for &c in b {
            let digit = c.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            n = n * 10 + u64::from(digit);
        }
        return Some(n);
    }
    let mut n: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

fn parse_dec32(b: &[u8]) -> Option<u32> {
    parse_dec64(b).and_then(|n| u32::try_from(n).ok())
}

#[inline]
fn parse_hex32(b: &[u8]) -> Option<u32> {
    if let Some(word) = b.first_chunk::<8>()
        && b.len() == 8
    {
        return hex8(u64::from_be_bytes(*word));
    }
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    let mut n = 0u32;
    for &c in b {
        let digit = HEX_VALUES[usize::from(c)];
        if digit == NOT_HEX {
            return None;
        }
        n = n << 4 | u32::from(digit);
    }
    Some(n)
}

/// Eight hex digits, the first in the top byte, all at once: the kernel
/// writes `arch=` and `code=` with eight, and a digit at a time they are a
/// chain of dependent table loads.
fn hex8(word: u64) -> Option<u32> {
    const TOP: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    if word & TOP != 0 {
        return None;
    }
    // With every byte below 0x80, adding at most 0x50 carries into no
    // other byte: each byte's top bit says whether it was >= the bound.
    let at_least = |x: u64, low: u8| (x + ONES * u64::from(0x80 - low)) & TOP;
    let within = |x: u64, low: u8, high: u8| at_least(x, low) & !at_least(x, high + 1);
    let digits = within(word, b'0', b'9');
    // Letters of either case, folded to lower case.
    let letters = within(word | (ONES * 0x20), b'a', b'f');
    if digits | letters != TOP {
        return None;
    }
    // A digit's value is its low nibble; a letter's, its low nibble + 9.
    let nibbles = (word & (ONES * 0x0f)) + (letters >> 7) * 9;
    let pairs = (nibbles | nibbles >> 4) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs | pairs >> 8) & 0x0000_ffff_0000_ffff;
    Some((quads | quads >> 16) as u32)
}

const NOT_HEX: u8 = 0xff;

/// Each byte's value as a hex digit, [`NOT_HEX`] for others: one load per
/// digit where [`super::record::hex_digit`]'s ranges take three compares.
const HEX_VALUES: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = match c as u8 {
            b @ b'0'..=b'9' => b - b'0',
            b @ b'A'..=b'F' => b - b'A' + 10,
            b @ b'a'..=b'f' => b - b'a' + 10,
            _ => NOT_HEX,
        };
        c += 1;
    }
    table
};

/// The fields of a record body, as found.
#[derive(Debug, Default, PartialEq)]
struct Fields<'a> {
    arch: Option<ArchField<'a>>,
    syscall: Option<SyscallField<'a>>,
    compat: Option<bool>,
    action: Option<SeccompAction>,
    code: Option<u32>,
    pid: Option<u32>,
    comm: Option<Text<'a>>,
    exe: Option<Text<'a>>,
    uid: Option<NumberOrName<'a>>,
    sig: Option<NumberOrName<'a>>,
}

impl<'a> Fields<'a> {
    fn into_record(self, stamp: Option<AuditStamp>, prefix: &'a [u8]) -> SeccompRecord<'a> {
        SeccompRecord {
            arch: self.arch.expect("checked by parse_fields"),
            syscall: self.syscall.expect("checked by parse_fields"),
            compat: self.compat,
            action: self.action.expect("checked by parse_fields"),
            code: self.code,
            pid: self.pid,
            comm: self.comm,
            exe: self.exe,
            uid: self.uid,
            sig: self.sig,
            stamp,
            prefix,
        }
    }
}

#[derive(Clone, Copy)]
enum TextField {
    Comm,
    Exe,
}

/// Parses `key=value` fields separated by spaces, up to the end or auditd's
/// 0x1d separator (the enriched part after it is auditd's rendering and
/// less exact than the raw fields). `interpreted` is `ausearch -i` output:
/// names instead of numbers, and text values printed as is (a value with a
/// space continues in the next space-separated word).
fn parse_fields(body: &[u8], interpreted: bool) -> Result<Fields<'_>, Unparseable> {
    let end = memchr(0x1d, body).unwrap_or(body.len());
    let mut body = &body[..end];
    while let Some((&last, rest)) = body.split_last() {
        if matches!(last, b'\r' | b' ' | b'\n' | b'\t') {
            body = rest;
        } else {
            break;
        }
    }
    if !interpreted && let Some(fields) = kernel_layout(body) {
        return Ok(fields);
    }
    parse_tokens(body, interpreted)
}

/// The kernel's own layout of a seccomp record body (`audit_seccomp()`):
/// `auid= uid= gid= ses= [subj=] pid= comm= exe= sig= arch= syscall=
/// compat= ip= code=`, one space apart, each key once. Almost every record
/// is in it, and reading it field after field in that order takes a
/// fraction of [`parse_tokens`]' work: no key is looked up, and most values
/// are read where they stand. `None` when the body is not exactly in that
/// layout or a value is not what the kernel writes; [`parse_tokens`] then
/// decides, and for every body this accepts it gives the same fields.
fn kernel_layout(body: &[u8]) -> Option<Fields<'_>> {
    // Spaces before the first key (there is one after `audit(...):`) make
    // empty tokens, which count for nothing.
    let mut layout = Layout {
        body,
        at: body.len() - strip_spaces(body).len(),
        first: true,
    };
    let mut f = Fields::default();
    layout.value(b"auid=")?;
    f.uid = Some(NumberOrName::Number(parse_dec32(layout.value(b"uid=")?)?));
    layout.value(b"gid=")?;
    layout.value(b"ses=")?;
    let pid = match layout.value(b"subj=") {
        Some(_) => layout.value(b"pid=")?,
        None => layout.value(b"pid=")?,
    };
    f.pid = Some(parse_dec32(pid)?);
    f.comm = Some(text(layout.value(b"comm=")?, false)?);
    f.exe = Some(text(layout.value(b"exe=")?, false)?);
    f.sig = Some(NumberOrName::Number(parse_dec32(layout.value(b"sig=")?)?));
    f.arch = Some(ArchField::Audit(parse_hex32(layout.value(b"arch=")?)?));
    f.syscall = Some(SyscallField::Number(parse_dec32(
        layout.value(b"syscall=")?,
    )?));
    f.compat = Some(layout.value(b"compat=")? == b"1");
    layout.value(b"ip=")?;
    let code = parse_hex32(layout.value(b"code=")?.strip_prefix(b"0x")?)?;
    if layout.at != body.len() {
        return None;
    }
    f.code = Some(code);
    f.action = Some(SeccompAction::from_code(code));
    Some(f)
}

/// A walk along a body in the kernel's layout.
struct Layout<'a> {
    body: &'a [u8],
    /// Where the last value ended (or where the first key starts).
    at: usize,
    first: bool,
}

impl<'a> Layout<'a> {
    /// The value of `key` (at most 8 bytes, with its `=`) if it comes next,
    /// one space after the last value. The key is compared as one word,
    /// and the value's end is often in that same word.
    #[inline(always)]
    fn value(&mut self, key: &[u8]) -> Option<&'a [u8]> {
        let start = if self.first {
            self.at
        } else if self.body.get(self.at) == Some(&b' ') {
            self.at + 1
        } else {
            return None;
        };
        let word = word_at(self.body, start);
        let len = key.len();
        if len > 8 || word & low_bytes(len) != word_at(key, 0) {
            return None;
        }
        let value_start = start + len;
        let spaces = zero_bytes(word ^ SPACES) & !low_bytes(len);
        let end = if spaces != 0 {
            start + (spaces.trailing_zeros() / 8) as usize
        } else {
            next_space(self.body, start + 8)
        };
        self.first = false;
        self.at = end;
        self.body.get(value_start..end)
    }
}

/// A mask of the `n` low bytes of a word (all of it for 8).
fn low_bytes(n: usize) -> u64 {
    match n {
        0..8 => (1u64 << (8 * n)) - 1,
        _ => u64::MAX,
    }
}

/// Any body: `key=value` tokens separated by spaces, in any order, the
/// last of a key winning.
fn parse_tokens(body: &[u8], interpreted: bool) -> Result<Fields<'_>, Unparseable> {
    let mut f = Fields::default();
    let mut open_text: Option<(TextField, usize)> = None;
    let mut pos = 0;
    while pos < body.len() {
        // One word read at the token's start holds the key and its `=` in
        // every token that matters (the keys read are at most 7 bytes):
        // the key code is the word masked, and the token's end is found
        // once, from the same word when it is short.
        let word = word_at(body, pos);
        let first_space = (zero_bytes(word ^ SPACES).trailing_zeros() / 8) as usize;
        let first_equals = (zero_bytes(word ^ EQUALS).trailing_zeros() / 8) as usize;
        let token_end = if first_space < 8 {
            pos + first_space
        } else {
            next_space(body, pos + 8)
        };
        let start = pos;
        pos = token_end + 1;
        let eq = if first_equals < first_space {
            first_equals
        } else if first_space == 8 && body.get(start + 8) == Some(&b'=') {
            8
        } else {
            // No key of 8 bytes or less: the token is a bare word, empty,
            // or has a longer key, which names no field read here. Only
            // `ausearch -i` text values care which.
            if interpreted && token_end > start {
                match find_byte(b'=', &body[start..token_end]) {
                    Some(_) => open_text = None,
                    None => {
                        if let Some((which, value_start)) = open_text {
                            let value = Text::Plain(&body[value_start..token_end]);
                            match which {
                                TextField::Comm => f.comm = Some(value),
                                TextField::Exe => f.exe = Some(value),
                            }
                        }
                    }
                }
            }
            continue;
        };
        let value = &body[start + eq + 1..token_end];
        open_text = None;
        // The word holds the key's bytes in key_code's order.
        let code = if eq < 8 {
            word & ((1u64 << (8 * eq)) - 1)
        } else {
            word
        };
        match code {
            ARCH => {
                f.arch = Some(if interpreted {
                    ArchField::Name(value)
                } else {
                    ArchField::Audit(parse_hex32(value).ok_or(Unparseable::BadArch)?)
                })
            }
            SYSCALL => {
                f.syscall = Some(match parse_dec32(value) {
                    Some(n) => SyscallField::Number(n),
                    None if interpreted => match value
                        .strip_prefix(b"unknown-syscall(")
                        .and_then(|v| v.strip_suffix(b")"))
                    {
                        Some(n) => {
                            SyscallField::Number(parse_dec32(n).ok_or(Unparseable::BadSyscall)?)
                        }
                        None if !value.is_empty() => SyscallField::Name(value),
                        None => return Err(Unparseable::BadSyscall),
                    },
                    None => return Err(Unparseable::BadSyscall),
                })
            }
            CODE => {
                let action = match value.strip_prefix(b"0x").and_then(parse_hex32) {
                    Some(code) => {
                        f.code = Some(code);
                        SeccompAction::from_code(code)
                    }
                    None if interpreted => {
                        SeccompAction::from_interpreted(value).ok_or(Unparseable::BadCode)?
                    }
                    None => return Err(Unparseable::BadCode),
                };
                f.action = Some(action);
            }
            COMPAT => f.compat = Some(value == b"1"),
            PID => f.pid = parse_dec32(value),
            UID => f.uid = number_or_name(value),
            SIG => f.sig = number_or_name(value),
            COMM => {
                f.comm = text(value, interpreted);
                open_text = Some((TextField::Comm, start + eq + 1));
            }
            EXE => {
                f.exe = text(value, interpreted);
                open_text = Some((TextField::Exe, start + eq + 1));
            }
            _ => {}
        }
    }
    if f.arch.is_none() {
        return Err(Unparseable::MissingArch);
    }
    if f.syscall.is_none() {
        return Err(Unparseable::MissingSyscall);
    }
    if f.action.is_none() {
        return Err(Unparseable::Truncated);
    }
    Ok(f)
}

/// A field name as a number, so that matching it is one comparison rather
/// than a string compare per known name. Names longer than 8 bytes are 0.
const fn key_code(key: &[u8]) -> u64 {
    if key.len() > 8 {
        return 0;
    }
    let mut code = 0u64;
    let mut i = 0;
    while i < key.len() {
        code |= (key[i] as u64) << (8 * i);
        i += 1;
    }
    code
}

const ARCH: u64 = key_code(b"arch");
const SYSCALL: u64 = key_code(b"syscall");
const CODE: u64 = key_code(b"code");
const COMPAT: u64 = key_code(b"compat");
const PID: u64 = key_code(b"pid");
const UID: u64 = key_code(b"uid");
const SIG: u64 = key_code(b"sig");
const COMM: u64 = key_code(b"comm");
const EXE: u64 = key_code(b"exe");

const SPACES: u64 = 0x2020_2020_2020_2020;
const EQUALS: u64 = 0x3d3d_3d3d_3d3d_3d3d;

/// The eight bytes at `at` as a little-endian word, zeros past the end
/// (a zero byte is never a separator looked for).
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    if let Some(word) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        return u64::from_le_bytes(*word);
    }
    // Fewer than 8 bytes left: the slice's last word, shifted down past
    // the bytes before `at` (a copy of a variable length is a call).
    match bytes.last_chunk::<8>() {
        Some(last) if at < bytes.len() => u64::from_le_bytes(*last) >> (8 * (at + 8 - bytes.len())),
        Some(_) => 0,
        None => bytes
            .get(at..)
            .unwrap_or_default()
            .iter()
            .rev()
            .fold(0, |word, &b| word << 8 | u64::from(b)),
    }
}

/// The first space at or after `from`, or the end of `bytes`: a word at a
/// time to the very end (the last word padded with zeros).
fn next_space(bytes: &[u8], mut from: usize) -> usize {
    while from < bytes.len() {
        let spaces = zero_bytes(word_at(bytes, from) ^ SPACES);
        if spaces != 0 {
            return from + (spaces.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    bytes.len()
}

/// The top bit of each byte of `x` that is zero, and no other bit: exact
/// for every byte (not only the first), so that the first flagged byte
/// after any position is a true match.
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7).wrapping_add(LOW7)) | x) & !LOW7
}

/// The first `byte` in a short slice (a field): eight bytes at a time,
/// which beats both a byte loop and SIMD set-up on spans of a few words.
fn find_byte(byte: u8, haystack: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO * u64::from(byte);
    let mut at = 0;
    while let Some(word) = haystack[at..].first_chunk::<8>() {
        let x = u64::from_le_bytes(*word) ^ pattern;
        // The lowest flagged byte is the first zero byte of x.
        let zero = x.wrapping_sub(LO) & !x & HI;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    haystack[at..]
        .iter()
        .position(|&b| b == byte)
        .map(|i| at + i)
}

fn number_or_name(value: &[u8]) -> Option<NumberOrName<'_>> {
    match parse_dec32(value) {
        Some(n) => Some(NumberOrName::Number(n)),
        None if !value.is_empty() => Some(NumberOrName::Name(value)),
        None => None,
    }
}

/// A kernel text value: `"quoted"`, upper-case hex, or `(null)`.
fn text(value: &[u8], interpreted: bool) -> Option<Text<'_>> {
    if interpreted {
        return Some(Text::Plain(value));
    }
    if let Some(inner) = value.strip_prefix(b"\"") {
        // A missing closing quote means the line was cut inside the value.
        return inner.strip_suffix(b"\"").map(Text::Quoted);
    }
    if !value.is_empty()
        && value.len().is_multiple_of(2)
        && value
            .iter()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b))
    {
        return Some(Text::Hex(value));
    }
    Some(Text::Plain(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KERNEL: &[u8] = br#"[  930.512845] audit: type=1326 audit(1795441404.826:4): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=19884 comm="logchild" exe="/tmp/cap/logchild" sig=0 arch=40000003 syscall=20 compat=1 ip=0x40157b code=0x7ffc0000"#;

    fn parse(line: &[u8]) -> Line<'_> {
        // The scratch buffer is leaked to give it the line's lifetime in tests.
        let scratch = Box::leak(Box::new(Vec::new()));
        Parser::with_time_zone(jiff::tz::TimeZone::UTC).parse_line(line, scratch)
    }

    fn record(line: &[u8]) -> SeccompRecord<'_> {
        match parse(line) {
            Line::Record(r) => r,
            other => panic!("not a record: {other:?}"),
        }
    }

    #[test]
    fn kernel_line_every_field() {
        let r = record(KERNEL);
        assert_eq!(r.arch, ArchField::Audit(0x40000003));
        assert_eq!(r.syscall, SyscallField::Number(20));
        assert_eq!(r.compat, Some(true));
        assert_eq!(r.action, SeccompAction::Log);
        assert_eq!(r.code, Some(0x7ffc0000));
        assert_eq!(r.pid, Some(19884));
        assert_eq!(r.comm, Some(Text::Quoted(b"logchild")));
        assert_eq!(r.exe, Some(Text::Quoted(b"/tmp/cap/logchild")));
        assert_eq!(r.uid, Some(NumberOrName::Number(0)));
        assert_eq!(r.sig, Some(NumberOrName::Number(0)));
        assert_eq!(
            r.stamp,
            Some(AuditStamp {
                secs: 1795441404,
                millis: 826,
                serial: 4
            })
        );
        assert_eq!(r.prefix, b"[  930.512845] audit: ");
    }

    #[test]
    fn hex_text_decodes() {
        let r = record(b"audit: type=1326 audit(1.002:3): pid=1 comm=6D7920636F6D6D exe=2F746D702F6D792070726F67 sig=0 arch=c000003e syscall=1073741863 compat=0 ip=0x1 code=0x7ffc0000");
        assert_eq!(r.comm.unwrap().decode().as_ref(), b"my comm");
        assert!(r.exe.unwrap().equals(b"/tmp/my prog"));
        assert!(!r.exe.unwrap().equals(b"/tmp/my pro"));
        assert_eq!(r.syscall, SyscallField::Number(0x4000_0000 | 39));
    }

    #[test]
    fn actions_from_codes() {
        for (code, action) in [
            ("0x50000", SeccompAction::Errno),
            ("0x80000000", SeccompAction::KillProcess),
            ("0x0", SeccompAction::KillThread),
            ("0x30000", SeccompAction::Trap),
            ("0x7ff00000", SeccompAction::Trace),
            ("0x7fc00000", SeccompAction::UserNotif),
            ("0x7ffc0000", SeccompAction::Log),
        ] {
            let line = format!("type=1326 audit(1.0:1): arch=c000003e syscall=1 code={code}");
            assert_eq!(record(line.as_bytes()).action, action, "{code}");
        }
    }

    #[test]
    fn broken_records_say_why() {
        let cases: [(&[u8], Unparseable); 8] = [
            (
                b"type=1326 audit(1.0:1): arch=c000003e syscall=1 compat=0 ip=0x1",
                Unparseable::Truncated,
            ),
            (
                b"type=1326 audit(1.0:1): arch=c000003e code=0x0",
                Unparseable::MissingSyscall,
            ),
            (
                b"type=1326 audit(1.0:1): syscall=1 code=0x0",
                Unparseable::MissingArch,
            ),
            (
                b"type=1326 audit(1.0:1): arch=zz syscall=1 code=0x0",
                Unparseable::BadArch,
            ),
            (
                b"type=1326 audit(1.0:1): arch=c000003e syscall=x code=0x0",
                Unparseable::BadSyscall,
            ),
            (
                b"type=1326 audit(1.0:1): arch=c000003e syscall=1 code=0xq",
                Unparseable::BadCode,
            ),
            (b"type=1326 audit(1.0", Unparseable::BadStamp),
            (b"type=1326 arch=c000003e", Unparseable::NoStamp),
        ];
        for (line, why) in cases {
            assert_eq!(
                parse(line),
                Line::Unparseable(why),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn loss_evidence() {
        assert_eq!(
            parse(b"[  949.424656] kauditd_printk_skb: 20 callbacks suppressed"),
            Line::Loss(LossEvidence::CallbacksSuppressed(20))
        );
        assert_eq!(
            parse(b"[ 1.0] audit: backlog limit exceeded"),
            Line::Loss(LossEvidence::LimitExceeded)
        );
        assert_eq!(
            parse(b"[ 1.0] audit: audit_lost=7 audit_rate_limit=0 audit_backlog_limit=64"),
            Line::Loss(LossEvidence::Lost(7))
        );
        assert_eq!(
            parse(b"audit: audit_lost=0 audit_rate_limit=0"),
            Line::Other
        );
        assert_eq!(
            parse(b"nginx: rate limit exceeded for 10.0.0.1"),
            Line::Other
        );
    }

    #[test]
    fn garbage_is_other() {
        assert_eq!(parse(b""), Line::Other);
        assert_eq!(parse(b"\xff\xfe\x00type=13"), Line::Other);
        assert_eq!(parse(b"type=1326"), Line::Other);
    }

    #[test]
    fn find_byte_matches_a_plain_search() {
        let hay = b"auid=4294967295 uid=0 gid=0 \x80\xff= x";
        for start in 0..hay.len() {
            for byte in [b' ', b'=', b'x', 0x80, 0xff, b'q'] {
                let want = hay[start..].iter().position(|&b| b == byte);
                assert_eq!(find_byte(byte, &hay[start..]), want, "{start} {byte}");
            }
        }
    }

    /// MESSAGE decoded, `_SOURCE_REALTIME_TIMESTAMP` and `_AUDIT_ID`.
    type Read = (Option<Vec<u8>>, Option<String>, Option<String>);

    /// What serde_json reads from a line, in [`FlatEntry`]'s terms.
    fn serde_entry(line: &[u8]) -> Option<Read> {
        let entry = serde_json::from_slice::<JournalEntry<'_>>(line).ok()?;
        let message = entry.message.map(|m| match m {
            JournalMessage::Text(t) => t.as_bytes().to_vec(),
            JournalMessage::Bytes(b) => b,
        });
        Some((
            message,
            entry.source_time.map(|t| t.into_owned()),
            entry.audit_id.map(|t| t.into_owned()),
        ))
    }

    #[test]
    fn flat_journal_entries_read_as_serde_json_reads_them() {
        let accepted: &[&[u8]] = &[
            br#"{"_TRANSPORT":"audit","_AUDIT_ID":"12","_SOURCE_REALTIME_TIMESTAMP":"1795441404002000","MESSAGE":"SECCOMP auid=1 comm=\"a b\" exe=\"/x\\/y\\\\z\" pid=1"}"#,
            br#"{"MESSAGE":"plain"}"#,
            br#"{"MESSAGE":""}"#,
            br#"{"MESSAGE":"\b\f\n\r\t\"\\\/"}"#,
            br#"{"OTHER":"\"","MESSAGE":"x","MESSAGE2":"y"}"#,
            br#"{"_AUDIT_ID":"x","MESSAGE":"m"}"#,
            br#"{"_AUDIT_ID":"","_SOURCE_REALTIME_TIMESTAMP":"-5","MESSAGE":"m"}"#,
            br#"{"A":"b"}"#,
        ];
        for &line in accepted {
            let shown = String::from_utf8_lossy(line);
            let flat = FlatEntry::read(line).unwrap_or_else(|| panic!("declined {shown}"));
            let mut scratch = Vec::new();
            let message = flat.message.map(|m| {
                unescape_simple(m.raw, &mut scratch);
                scratch.clone()
            });
            let want = serde_entry(line).unwrap_or_else(|| panic!("serde rejects {shown}"));
            assert_eq!(
                (
                    message,
                    flat.source_time
                        .map(|t| String::from_utf8_lossy(t).into_owned()),
                    flat.audit_id
                        .map(|t| String::from_utf8_lossy(t).into_owned())
                ),
                want,
                "{shown}"
            );
        }
        // Declined: serde_json decides (some valid, some not).
        let declined: &[&[u8]] = &[
            br#"{ "MESSAGE":"x"}"#,
            br#"{"MESSAGE":"x"} "#,
            b"{\"MESSAGE\":\"x\"}\r",
            br#"{"MESSAGE":"x","MESSAGE":"y"}"#,
            br#"{"_AUDIT_ID":"1","_AUDIT_ID":"2","MESSAGE":"y"}"#,
            br#"{"MESS\u0041GE":"x"}"#,
            br#"{"MESSAGE":"\u00e9"}"#,
            br#"{"MESSAGE":"\x"}"#,
            br#"{"MESSAGE":[65,66]}"#,
            br#"{"MESSAGE":null}"#,
            br#"{"N":1,"MESSAGE":"x"}"#,
            br#"{"_AUDIT_ID":"1\"","MESSAGE":"x"}"#,
            "{\"MESSAGE\":\"é\"}".as_bytes(),
            b"{\"MESSAGE\":\"a\tb\"}",
            br#"{"MESSAGE":"x"}}"#,
            br#"{"MESSAGE":"x",}"#,
            br#"{"MESSAGE":"x""#,
            br#"{"MESSAGE":"x\"#,
            br#"{"MESSAGE""x"}"#,
            br#"{}"#,
            br#"{"#,
        ];
        for &line in declined {
            assert_eq!(
                FlatEntry::read(line),
                None,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn parse_number_reads_as_str_parse_does() {
        for text in [
            "",
            "0",
            "+5",
            "-5",
            "007",
            " 5",
            "5 ",
            "1a",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "000000000000000000001",
        ] {
            let bytes = text.as_bytes();
            assert_eq!(parse_number::<i64>(bytes), text.parse().ok(), "{text}");
            assert_eq!(parse_number::<u64>(bytes), text.parse().ok(), "{text}");
        }
    }

    #[test]
    fn quote_or_backslash_matches_a_plain_search() {
        let hay = br#"ab"cdefghij\klmnopq"rstuvwxyz0123\0123456789abcdefghijklmnopqrstuvwxyz"012345678901234567890123456789\"#;
        for len in 0..=hay.len() {
            for from in 0..=len {
                let want = hay[from..len]
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\')
                    .map(|i| from + i);
                assert_eq!(quote_or_backslash(&hay[..len], from), want, "{len} {from}");
            }
        }
    }

    #[test]
    fn journal_lines_with_and_without_serde_agree() {
        let lines: &[&[u8]] = &[
            br#"{"_AUDIT_ID":"12","_SOURCE_REALTIME_TIMESTAMP":"1795441404002000","MESSAGE":"SECCOMP auid=1 uid=0 gid=0 ses=1 pid=7 comm=\"a\" exe=\"/x\" sig=0 arch=c000003e syscall=9 compat=0 ip=0x1 code=0x7ffc0000"}"#,
            br#"{"MESSAGE":"audit: type=1326 audit(1.002:3): pid=7 arch=c000003e syscall=9 code=0x7ffc0000"}"#,
            br#"{"MESSAGE":"SECCOMP auid=1 pid=7 arch=c000003e syscall=9"}"#,
            br#"{"MESSAGE":"nothing here"}"#,
        ];
        for &line in lines {
            let spaced = String::from_utf8_lossy(line).replacen('{', "{ ", 1);
            let fast = parse(line);
            assert!(FlatEntry::read(line).is_some());
            assert!(FlatEntry::read(spaced.as_bytes()).is_none());
            assert_eq!(fast, parse(spaced.as_bytes()), "{spaced}");
        }
        let r = record(lines[0]);
        assert_eq!(r.comm, Some(Text::Quoted(b"a")));
        assert_eq!(
            r.stamp,
            Some(AuditStamp {
                secs: 1795441404,
                millis: 2,
                serial: 12
            })
        );
    }

    #[test]
    fn journal_message_as_bytes() {
        let message = b"SECCOMP auid=1 pid=7 arch=c000003e syscall=9 code=0x7ffc0000";
        let bytes: Vec<String> = message.iter().map(u8::to_string).collect();
        let line = format!(
            r#"{{"_AUDIT_TYPE_NAME":"SECCOMP auid=","MESSAGE":[{}]}}"#,
            bytes.join(",")
        );
        let r = record(line.as_bytes());
        assert_eq!(r.syscall, SyscallField::Number(9));
        assert_eq!(r.pid, Some(7));
        let too_big = line.replace("]}", ",256]}");
        assert_eq!(
            parse(too_big.as_bytes()),
            Line::Unparseable(Unparseable::BadJson)
        );
        let number = r#"{"_AUDIT_TYPE_NAME":"SECCOMP auid=","MESSAGE":5}"#;
        assert_eq!(
            parse(number.as_bytes()),
            Line::Unparseable(Unparseable::BadJson)
        );
    }

    #[test]
    fn teddy_and_automaton_find_the_same_markers() {
        let Some(teddy) = Markers::teddy() else {
            return;
        };
        let automaton = Markers::automaton();
        let mut hay = KERNEL.to_vec();
        hay.extend_from_slice(
            b"\nSECCOMP auid=type=1326type=SECCOMP kauditd_printk_skb: audit_lost=",
        );
        hay.extend_from_slice(
            b" hold queue overflowlimit exceededtype=132 SECCOMP auid type=SECCOM",
        );
        for from in 0..=hay.len() {
            for end in [hay.len(), hay.len() * 2 / 3, from + 40, from + 12] {
                let part = &hay[..end.clamp(from, hay.len())];
                let found = |m: &Markers| m.find(part, from).map(|f| (f.pattern, f.start, f.end));
                assert_eq!(found(&teddy), found(&automaton), "{from}..{}", part.len());
            }
        }
    }

    #[test]
    fn number_parsers_match_plain_ones() {
        for byte in 0..=255u8 {
            let want = super::super::record::hex_digit(byte).unwrap_or(NOT_HEX);
            assert_eq!(HEX_VALUES[usize::from(byte)], want, "{byte:#x}");
        }
        for text in [
            "0",
            "42",
            "0001",
            "4294967295",
            "4294967296",
            "18446744073709551615",
        ] {
            assert_eq!(parse_dec64(text.as_bytes()), text.parse().ok(), "{text}");
        }
        for text in [
            "9999999999999999999",
            "18446744073709551616",
            "99999999999999999999",
            "1a",
            "",
        ] {
            assert_eq!(parse_dec64(text.as_bytes()), text.parse().ok(), "{text}");
        }
        assert_eq!(parse_hex32(b"c000003E"), Some(0xc000_003e));
        assert_eq!(parse_hex32(b"c000003g"), None);
        assert_eq!(parse_hex32(b"123456789"), None);
        // Eight digits take the word path: every byte at every place.
        let table = |b: &[u8]| {
            b.iter().try_fold(0u32, |n, &c| {
                let digit = HEX_VALUES[usize::from(c)];
                (digit != NOT_HEX).then_some(n << 4 | u32::from(digit))
            })
        };
        for base in [*b"c000003e", *b"7FFC0000", *b"00000000", *b"fFfFfFfF"] {
            assert_eq!(parse_hex32(&base), table(&base));
            for at in 0..8 {
                for byte in 0..=255u8 {
                    let mut digits = base;
                    digits[at] = byte;
                    assert_eq!(
                        parse_hex32(&digits),
                        table(&digits),
                        "{:?}",
                        String::from_utf8_lossy(&digits)
                    );
                }
            }
        }
    }

    #[test]
    fn next_space_finds_the_first_space_or_the_end() {
        let hay = b"auid=4294967295 uid=0  exe=\"/usr/bin/x\" a";
        for from in 0..=hay.len() {
            let want = hay[from..]
                .iter()
                .position(|&b| b == b' ')
                .map_or(hay.len(), |i| from + i);
            assert_eq!(next_space(hay, from), want, "{from}");
        }
    }

    #[test]
    fn odd_tokens_keep_their_meaning() {
        let r = record(
            b"type=1326 audit(1.0:1): arch=c000003e  syscall=1 abcdefgh=7 syscalls=9 =x x= code=0x7ffc0000",
        );
        assert_eq!(r.syscall, SyscallField::Number(1));
        assert_eq!(r.code, Some(0x7ffc_0000));
        let r = record(
            b"type=SECCOMP msg=audit(11/23/26 13:44:15.000:7) : comm=my prog abcdefghi=1 tail exe=/a b  c arch=x86_64 syscall=getppid code=log",
        );
        assert_eq!(r.comm, Some(Text::Plain(b"my prog")));
        assert_eq!(r.exe, Some(Text::Plain(b"/a b  c")));
        assert_eq!(r.syscall, SyscallField::Name(b"getppid"));
    }

    #[test]
    fn kernel_layout_agrees_with_the_token_parser() {
        let bodies: [&[u8]; 4] = [
            b"auid=4294967295 uid=0 gid=0 ses=4294967295 pid=19884 comm=\"logchild\" exe=\"/tmp/cap/logchild\" sig=0 arch=40000003 syscall=20 compat=1 ip=0x40157b code=0x7ffc0000",
            b"auid=1000 uid=1000 gid=1000 ses=3 subj=unconfined pid=7 comm=6D7920636F6D6D exe=2F746D702F6D792070726F67 sig=31 arch=c000003e syscall=1073741863 compat=0 ip=0x7f3a4c2b1e4d code=0x80000000",
            b"auid=0 uid=0 gid=0 ses=1 pid=1 comm=\"a=b\" exe=(null) sig=0 arch=c00000b7 syscall=0 compat=0 ip=0x0 code=0x50001",
            b"auid=0 uid=0 gid=0 ses=1 pid=1 comm=\"x\" exe=\"/x\" sig=0 arch=c000003e syscall=4294967295 compat=0 ip=0x1 code=0x7ffc0000",
        ];
        let inserts: [&[u8]; 9] = [b" ", b"=", b"x", b"\"", b"\0", b"  ", b"9", b"0x", b" a=1"];
        for body in bodies {
            let whole = kernel_layout(body).expect("the kernel's layout");
            let spaced = [b"  ", body].concat();
            assert_eq!(kernel_layout(&spaced).as_ref(), Some(&whole));
            assert_eq!(Ok(whole), parse_tokens(body, false));
            let mut variants: Vec<Vec<u8>> = Vec::new();
            for at in 0..=body.len() {
                variants.push(body[..at].to_vec());
                if at < body.len() {
                    variants.push([&body[..at], &body[at + 1..]].concat());
                }
                for insert in inserts {
                    variants.push([&body[..at], insert, &body[at..]].concat());
                }
            }
            for variant in &variants {
                if let Some(fast) = kernel_layout(variant) {
                    assert_eq!(
                        Ok(fast),
                        parse_tokens(variant, false),
                        "{}",
                        String::from_utf8_lossy(variant)
                    );
                }
            }
        }
    }

    #[test]
    fn words_past_the_end_are_zero_padded() {
        for hay in [&b"abcdefghijkl"[..], b"abc", b""] {
            for at in 0..=hay.len() + 1 {
                let mut want = [0u8; 8];
                let rest = hay.get(at..).unwrap_or_default();
                let n = rest.len().min(8);
                want[..n].copy_from_slice(&rest[..n]);
                assert_eq!(word_at(hay, at), u64::from_le_bytes(want), "{at}");
            }
        }
    }

    #[test]
    fn zero_bytes_flags_every_zero_byte() {
        for word in [
            0u64,
            u64::MAX,
            0x0100_ff00_0001_8000,
            0x0000_0000_0000_0001,
            1 << 63,
        ] {
            let want = (0..8)
                .filter(|i| (word >> (8 * i)) & 0xff == 0)
                .fold(0u64, |m, i| m | 0x80 << (8 * i));
            assert_eq!(zero_bytes(word), want, "{word:#x}");
        }
    }

    #[test]
    fn netlink_body() {
        let Line::Record(r) = parse_audit_message(b"audit(1795441464.266:234): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=21930 comm=\"logchild\" exe=\"/tmp/cap/logchild\" sig=0 arch=c000003e syscall=110 compat=0 ip=0x4313a9 code=0x7ffc0000\0") else {
            panic!("not a record");
        };
        assert_eq!(r.syscall, SyscallField::Number(110));
        assert_eq!(r.stamp.unwrap().serial, 234);
    }
}
