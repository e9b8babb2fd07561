//! Pieces shared by the commands that record for a while: signals that end
//! or are passed on, pidfds, and the live status line on stderr.

use std::io::{self, IsTerminal, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;

/// Signals received by the recorder, and whether each should be passed on.
pub(crate) struct ForwardedSignal {
    pub signal: i32,
    /// A terminal's SIGINT/SIGQUIT/SIGHUP already reached the child's
    /// process group; passing it on would deliver it twice.
    pub from_terminal: bool,
}

/// SIGINT, SIGTERM, SIGHUP and SIGQUIT, caught from [`catch_signals`] on and
/// kept until [`CaughtSignals::forward`] passes them on: a command catches
/// them before it starts anything, and starts the thread that passes them
/// on only once it has lowered its privileges (threads keep their
/// creator's capabilities, see [`crate::self_confine`]).
pub(crate) struct CaughtSignals(Option<SignalsInfo<WithOrigin>>);

/// Catches SIGINT, SIGTERM, SIGHUP and SIGQUIT from now on instead of
/// ending the recorder; signals that come meanwhile wait for
/// [`CaughtSignals::forward`].
pub(crate) fn catch_signals() -> CaughtSignals {
    match SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT]) {
        Ok(signals) => CaughtSignals(Some(signals)),
        Err(e) => {
            log::warn!("cannot install signal handlers: {e}");
            CaughtSignals(None)
        }
    }
}

impl CaughtSignals {
    /// Sends each caught signal (those that came already first) down the
    /// returned channel, from a thread of its own.
    pub(crate) fn forward(self) -> Receiver<ForwardedSignal> {
        let (tx, rx) = mpsc::channel();
        if let Some(mut signals) = self.0 {
            let spawned = std::thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for origin in signals.forever() {
                        let from_terminal = matches!(origin.cause, Cause::Kernel);
                        if tx
                            .send(ForwardedSignal {
                                signal: origin.signal,
                                from_terminal,
                            })
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            if let Err(e) = spawned {
                log::warn!("cannot start the thread that passes signals on: {e}");
            }
        }
        rx
    }
}

/// The live `recording 3.2s, 57 syscalls` line on a terminal's stderr.
pub(crate) struct StatusLine {
    drawn: bool,
}

impl StatusLine {
    pub(crate) fn new() -> StatusLine {
        StatusLine { drawn: false }
    }

    pub(crate) fn draw(&mut self, elapsed: Duration, syscalls: usize) {
        let mut err = io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Krecording {:.1}s, {syscalls} distinct syscalls",
            elapsed.as_secs_f64()
        );
        let _ = err.flush();
        self.drawn = true;
    }

    pub(crate) fn clear(&mut self) {
        if self.drawn {
            let _ = write!(io::stderr().lock(), "\r\x1b[2K");
            self.drawn = false;
        }
    }
}

/// Sleeps until the process behind `pidfd` exits or `timeout` passes; with
/// no pidfd (kernels before 5.3, or nothing to wait for) sleeps `fallback`.
pub(crate) fn wait_for_exit(pidfd: Option<&OwnedFd>, timeout: Duration, fallback: Duration) {
    match pidfd {
        Some(fd) => {
            // Woken early or not, the caller checks the process again.
            let _ = crate::sys::fd::poll_readable([fd.as_fd()], timeout);
        }
        None => std::thread::sleep(fallback),
    }
}

/// The `Seccomp:` mode of a /proc/PID/status text: 0 none, 1 strict,
/// 2 filter.
pub(crate) fn seccomp_mode(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))?
        .trim()
        .parse()
        .ok()
}

/// Whether a status line should be drawn: stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_seccomp_mode() {
        assert_eq!(
            seccomp_mode("Name:\tsh\nSeccomp:\t2\nSeccomp_filters:\t1\n"),
            Some(2)
        );
        assert_eq!(seccomp_mode("Seccomp:\t0\n"), Some(0));
        assert_eq!(seccomp_mode("Name:\tsh\n"), None);
    }
}
