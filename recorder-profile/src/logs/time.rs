//! Times in logs and on the command line.
//!
//! Records carry `audit(SECONDS.MILLIS:SERIAL)`, except `ausearch -i` (local
//! date and time) and journald's `audit[PID]: SECCOMP` text form, whose only
//! time is the line's prefix. `--since`/`--until` take dates or durations.

use jiff::civil::{Date, DateTime, Time};
pub use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use super::parse::parse_dec64;
use super::record::AuditStamp;

/// `MM/DD/YY HH:MM:SS.mmm:SERIAL` (ausearch -i, in local time).
pub fn parse_interpreted_stamp(inside: &[u8], tz: &TimeZone) -> Option<AuditStamp> {
    let text = std::str::from_utf8(inside).ok()?;
    let (when, serial) = text.rsplit_once(':')?;
    let (date, clock) = when.split_once(' ')?;
    let mut date_parts = date.split('/');
    let month = date_parts.next()?.parse::<i8>().ok()?;
    let day = date_parts.next()?.parse::<i8>().ok()?;
    let year = date_parts.next()?;
    let year = match year.len() {
        2 => 2000 + year.parse::<i16>().ok()?,
        4 => year.parse::<i16>().ok()?,
        _ => return None,
    };
    let (hms, millis) = clock.split_once('.').unwrap_or((clock, "0"));
    let time = parse_hms(hms)?;
    let date = Date::new(year, month, day).ok()?;
    let zoned = date.to_datetime(time).to_zoned(tz.clone()).ok()?;
    Some(AuditStamp {
        secs: zoned.timestamp().as_second(),
        millis: millis.parse::<u32>().ok().filter(|&m| m < 1000)?,
        serial: parse_dec64(serial.as_bytes())?,
    })
}

fn parse_hms(hms: &str) -> Option<Time> {
    let mut parts = hms.split(':');
    let h = parts.next()?.parse::<i8>().ok()?;
    let m = parts.next()?.parse::<i8>().ok()?;
    let s = parts.next()?.parse::<i8>().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Time::new(h, m, s, 0).ok()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The time (Unix seconds) at the start of a log line's prefix, in the
/// shapes journald and syslog write: `2026-11-23T13:43:51[.ffffff](+0000|+00:00|Z)`
/// (journald short-iso, RFC 3339, RFC 5424 after `<PRI>1 `),
/// `Nov 23 13:43:51[.ffffff]` (RFC 3164, journald short and short-precise;
/// local time, the year taken from `now`), `Mon 2026-11-23 13:43:51 UTC`
/// (short-full) and `1795441431.770000` (short-unix). `None` otherwise
/// (e.g. a monotonic `[  957.45]`).
pub fn prefix_time(prefix: &[u8], tz: &TimeZone, now: Timestamp) -> Option<i64> {
    let text = std::str::from_utf8(prefix).ok()?;
    let mut text = text.trim_start();
    // `<PRI>` and the RFC 5424 version.
    if let Some(rest) = text.strip_prefix('<') {
        let (_, rest) = rest.split_once('>')?;
        text = rest.strip_prefix("1 ").unwrap_or(rest);
    }
    let first = text.split(' ').next()?;
    if let Ok(ts) = first.parse::<Timestamp>() {
        return Some(ts.as_second());
    }
    // Only ASCII can be this form, and only ASCII can be cut at any byte.
    if first.len() >= 19 && first.is_ascii() && first.as_bytes()[10] == b'T' {
        // journald's `+0000` offset form.
        let (clock, offset) = first.split_at(first.len().saturating_sub(5));
        let fixed = format!("{clock}{}:{}", &offset[..3], &offset[3..]);
        if let Ok(ts) = fixed.parse::<Timestamp>() {
            return Some(ts.as_second());
        }
    }
    if let Some((secs, frac)) = first.split_once('.')
        && secs.len() >= 9
        && frac.bytes().all(|b| b.is_ascii_digit())
        && let Ok(secs) = secs.parse::<i64>()
    {
        return Some(secs);
    }
    let words: Vec<&str> = text.split_whitespace().take(4).collect();
    // short-full: `Mon 2026-11-23 13:43:51 UTC`.
    if words.len() >= 4
        && let Ok(date) = words[1].parse::<Date>()
    {
        let time = parse_hms(words[2])?;
        let zone = if words[3] == "UTC" {
            TimeZone::UTC
        } else {
            tz.clone()
        };
        return Some(
            date.to_datetime(time)
                .to_zoned(zone)
                .ok()?
                .timestamp()
                .as_second(),
        );
    }
    // RFC 3164: `Nov 23 13:43:51[.ffffff]`.
    if words.len() >= 3 {
        let month = MONTHS.iter().position(|m| *m == words[0])? as i8 + 1;
        let day = words[1].parse::<i8>().ok()?;
        let time = parse_hms(words[2].split('.').next()?)?;
        let this_year = now.to_zoned(tz.clone()).year();
        for year in [this_year, this_year - 1] {
            let Ok(date) = Date::new(year, month, day) else {
                continue;
            };
            let at = date.to_datetime(time).to_zoned(tz.clone()).ok()?;
            // A syslog time a day or more ahead of now is from last year.
            if at.timestamp().as_second() <= now.as_second() + 86_400 {
                return Some(at.timestamp().as_second());
            }
        }
    }
    None
}

/// A `--since`/`--until` value as Unix seconds: a duration back from `now`
/// (`10m`, `2h`, `1d`, `90s`, `1h30m`), Unix seconds (`@1795441404`), an
/// RFC 3339 time, or a local date and time (`2026-11-23`,
/// `2026-11-23 13:40`, `2026-11-23T13:40:05`).
pub fn parse_time_arg(text: &str, now: &Zoned) -> Result<i64, String> {
    let text = text.trim();
    if let Some(secs) = text.strip_prefix('@') {
        return secs
            .parse::<i64>()
            .map_err(|_| format!("{text:?}: after @ give Unix seconds"));
    }
    if let Some(ago) = parse_duration_secs(text) {
        return Ok(now.timestamp().as_second() - ago);
    }
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(ts.as_second());
    }
    let local = text.replace(' ', "T");
    let datetime = local.parse::<DateTime>().or_else(|_| {
        local
            .parse::<Date>()
            .map(|d| d.to_datetime(Time::midnight()))
    });
    match datetime {
        Ok(dt) => dt
            .to_zoned(now.time_zone().clone())
            .map(|z| z.timestamp().as_second())
            .map_err(|e| format!("{text:?}: {e}")),
        Err(_) => Err(format!(
            "{text:?} is neither a duration (10m, 2h, 1d) nor a date (2026-11-23, 2026-11-23 13:40, @UNIXSECONDS)"
        )),
    }
}

/// `90s`, `10m`, `2h`, `1d`, `1h30m`: seconds.
pub fn parse_duration_secs(text: &str) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: i64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
    }
    if !number.is_empty() {
        return None;
    }
    Some(total)
}

/// A duration as [`parse_duration_secs`] reads it back (`2s`, `1h30m`), to
/// whole seconds; under a second as milliseconds (`250ms`).
pub fn format_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    let parts = [
        (secs / 86_400, "d"),
        (secs / 3600 % 24, "h"),
        (secs / 60 % 60, "m"),
        (secs % 60, "s"),
    ];
    parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_as_they_parse() {
        use std::time::Duration;
        for (secs, text) in [
            (2, "2s"),
            (90, "1m30s"),
            (5400, "1h30m"),
            (90_061, "1d1h1m1s"),
        ] {
            assert_eq!(format_duration(Duration::from_secs(secs)), text);
            assert_eq!(parse_duration_secs(text), Some(secs as i64));
        }
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_795_441_500).unwrap()
    }

    #[test]
    fn interpreted_stamp() {
        let s = parse_interpreted_stamp(b"11/23/26 13:44:24.266:234", &TimeZone::UTC).unwrap();
        assert_eq!(s.secs, 1_795_441_464);
        assert_eq!(s.millis, 266);
        assert_eq!(s.serial, 234);
        assert!(parse_interpreted_stamp(b"13/23/26 13:44:24.266:234", &TimeZone::UTC).is_none());
    }

    #[test]
    fn prefixes() {
        let tz = TimeZone::UTC;
        let want = Some(1_795_441_431);
        for prefix in [
            "2026-11-23T13:43:51+0000 vm ",
            "2026-11-23T13:43:51.770000+0000 vm ",
            "2026-11-23T13:43:51.770000+00:00 vm kernel: ",
            "<5>1 2026-11-23T13:43:51.447929+00:00 vm kernel - - - ",
            "Nov 23 13:43:51 vm ",
            "<5>Nov 23 13:43:51 vm kernel: ",
            "Nov 23 13:43:51.770000 vm ",
            "Mon 2026-11-23 13:43:51 UTC vm ",
            "1795441431.770000 vm ",
        ] {
            assert_eq!(prefix_time(prefix.as_bytes(), &tz, now()), want, "{prefix}");
        }
        assert_eq!(prefix_time(b"[  957.454986] vm ", &tz, now()), None);
    }

    /// A word shaped like journald's time with a multi-byte character where
    /// the offset would be cut is no time (it used to panic).
    #[test]
    fn non_ascii_prefix_is_no_time() {
        let tz = TimeZone::UTC;
        for prefix in [
            "2026-11-23T13:43:51\u{20ac} vm ",
            "2026-11-23T13:4\u{20ac}:51 vm ",
        ] {
            assert_eq!(prefix_time(prefix.as_bytes(), &tz, now()), None, "{prefix}");
        }
    }

    #[test]
    fn time_args() {
        let now = now().to_zoned(TimeZone::UTC);
        assert_eq!(parse_time_arg("10m", &now), Ok(1_795_441_500 - 600));
        assert_eq!(parse_time_arg("1h30m", &now), Ok(1_795_441_500 - 5400));
        assert_eq!(parse_time_arg("@1795441404", &now), Ok(1_795_441_404));
        assert_eq!(
            parse_time_arg("2026-11-23 13:43:51", &now),
            Ok(1_795_441_431)
        );
        assert_eq!(
            parse_time_arg("2026-11-23T13:43:51Z", &now),
            Ok(1_795_441_431)
        );
        assert_eq!(
            parse_time_arg("2026-11-23", &now),
            Ok(1_795_441_431 - (13 * 3600 + 43 * 60 + 51))
        );
        assert!(
            parse_time_arg("yesterday-ish", &now)
                .unwrap_err()
                .contains("duration")
        );
    }
}
