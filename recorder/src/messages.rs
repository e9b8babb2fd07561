//! The one route for messages to stderr, as ripgrep's `messages`.
//!
//! Every line the recorder writes to stderr goes out here (`log` records
//! too, [`install_logger`]), in the one form `recorder: <message>`. The
//! command line sets [`set_quiet`] from `-q/--quiet`; then only errors get
//! through, and what [`about_profile`] says of the profile written.
//! Library code reports notices to its caller, or through [`notice!`] and
//! [`warning!`], which honour the switch; never with `eprintln!`.
//!
//! Errors print whole, on one line, with every cause after a colon
//! ([`Chain`], anyhow's `{:#}`): `recorder: attaching ...: ...: Permission
//! denied (os error 13)`.

use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);

/// Silences everything but errors from now on (`--quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether only errors reach stderr.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// `recorder: <message>`, whatever the quiet switch says.
pub fn error(message: impl fmt::Display) {
    eprintln!("recorder: {message}");
}

/// An error and its causes on one line: `recorder: <error>: <cause>: ...`.
pub fn error_chain(error: &dyn Error) {
    self::error(Chain(error));
}

/// `recorder: <message>`, unless quiet.
pub fn notice(message: impl fmt::Display) {
    if !quiet() {
        eprintln!("recorder: {message}");
    }
}

/// `recorder: warning: <message>`, unless quiet.
pub fn warning(message: impl fmt::Display) {
    if !quiet() {
        eprintln!("recorder: warning: {message}");
    }
}

/// A line of its own (a table row, a summary), as is, unless quiet.
pub fn plain(message: impl fmt::Display) {
    if !quiet() {
        eprintln!("{message}");
    }
}

/// `recorder: <message>` even when quiet: what the profile written lacks
/// or does otherwise than the recording showed (syscalls a filter denied or
/// a libseccomp release does not know, processes left running, a recording
/// cut short, values allowed without a condition). Said at once, or it
/// surfaces later, far from its cause, as a workload that fails under the
/// profile.
pub fn about_profile(message: impl fmt::Display) {
    eprintln!("recorder: {message}");
}

/// What the user asked to see on stderr (`--bpf-stats`), as is, even when
/// quiet.
pub fn requested(message: impl fmt::Display) {
    eprintln!("{message}");
}

/// Sends `log` records here too: `recorder: <level>: <message>`, filtered
/// by `RUST_LOG` or else `default_filter`; when quiet, errors only.
pub fn install_logger(default_filter: &str) {
    let filter =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_filter))
            .build();
    log::set_max_level(filter.filter());
    // Only fails when a logger is installed already, which keeps it.
    let _ = log::set_boxed_logger(Box::new(Logger(filter)));
}

/// The `log` front end of this module, with env_logger's filter.
struct Logger(env_logger::Logger);

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        log::Log::enabled(&self.0, metadata) && (metadata.level() == log::Level::Error || !quiet())
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.0.matches(record) || (record.level() != log::Level::Error && quiet()) {
            return;
        }
        let level = match record.level() {
            log::Level::Error => "error",
            log::Level::Warn => "warning",
            log::Level::Info => "info",
            log::Level::Debug => "debug",
            log::Level::Trace => "trace",
        };
        eprintln!("recorder: {level}: {}", record.args());
    }

    fn flush(&self) {}
}

/// `recorder: <format>`, unless quiet.
#[macro_export]
macro_rules! notice {
    ($($arg:tt)*) => {
        $crate::messages::notice(format_args!($($arg)*))
    };
}

/// `recorder: warning: <format>`, unless quiet.
#[macro_export]
macro_rules! warning {
    ($($arg:tt)*) => {
        $crate::messages::warning(format_args!($($arg)*))
    };
}

/// An error followed by its sources, each after `: `, the way anyhow
/// prints `{:#}`. A source whose text the line already holds (a `Display`
/// that embeds its source, as some of aya's do) is not repeated.
pub struct Chain<'a>(pub &'a (dyn Error + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !text.is_empty() && !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            next = cause.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("attaching")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("opening the file: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn chain_names_every_cause_once() {
        let io = std::io::Error::from_raw_os_error(libc::ENOENT);
        let error = Outer(Middle(io));
        assert_eq!(
            Chain(&error).to_string(),
            "attaching: opening the file: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn chain_of_a_lone_error_is_its_text() {
        let io = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(Chain(&io).to_string(), "Permission denied (os error 13)");
    }
}
