//! Supervising a recording until it ends: the container's processes are
//! gone (or the traced process), a signal came, or `--duration` passed;
//! meanwhile a status line on a terminal, a warning for a recorded process
//! that runs under a seccomp filter, and the container's runtime learnt
//! while it lives.

use std::fs;
use std::path::Path;
use std::time::Instant;

use super::{Attached, ConfinedProcess, POLL, Session, TraceEnd, TraceError, TraceOutcome};
use crate::bpf::{RecordingId, Seen};
use crate::container::{self, Container, HostLayout};
use crate::session::{StatusLine, seccomp_mode, wait_for_exit};
use crate::spawn::pidfd_open;

impl Session<'_> {
    pub(super) fn supervise(&mut self, attached: Attached) -> Result<TraceOutcome, TraceError> {
        let started = Instant::now();
        let deadline = self.options.duration.map(|d| started + d);
        let dir = attached
            .cgroup
            .as_deref()
            .map(|c| self.layout.cgroup_dir(c));
        let shown = attached.cgroup.as_deref().map_or_else(
            || "a cgroup gone since".to_string(),
            |c| c.display().to_string(),
        );
        let pidfd = attached.process.and_then(pidfd_open);
        let mut status_line = self.options.status_line.then(StatusLine::new);
        let mut populated_once = attached.populated;
        let mut confined = None;
        let mut container = attached.container.clone();
        let end = loop {
            // A container found through its engine's names before its
            // runtime wrote its state: learn the runtime while it runs.
            if let Some(c) = container.as_mut().filter(|c| c.runtime.is_none()) {
                refresh(self.layout, c);
            }
            if self.signals.try_recv().is_ok() {
                break TraceEnd::Interrupted;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break TraceEnd::DurationElapsed;
            }
            // A cgroup gone before it was looked up: its container ended.
            let Some(dir) = dir.as_deref() else {
                break TraceEnd::Exited;
            };
            let pids = crate::cgroup::pids_in_tree(dir);
            if confined.is_none() {
                confined = find_confined(&self.layout.proc, &pids);
                if let Some(p) = confined {
                    crate::messages::about_profile(format_args!(
                        "warning: process {} of {} runs under a seccomp filter (mode {}): the syscalls it denies never reach the recorder; record it unconfined (e.g. --security-opt seccomp=unconfined) for a complete profile",
                        p.pid,
                        container
                            .as_ref()
                            .map_or_else(|| shown.clone(), Container::describe),
                        p.mode
                    ));
                }
            }
            if let Some(pid) = attached.process {
                if !container::is_alive(&self.layout.proc, pid, None) {
                    break TraceEnd::Exited;
                }
            } else if !dir.is_dir() {
                break TraceEnd::Exited;
            } else if container::is_populated(dir) {
                populated_once = true;
            } else if populated_once {
                break TraceEnd::Exited;
            }
            if let Some(line) = status_line.as_mut() {
                let count = self.seen_so_far(&attached.recordings);
                line.draw(started.elapsed(), count);
            }
            wait_for_exit(pidfd.as_ref(), POLL, POLL);
        };
        if let Some(line) = status_line.as_mut() {
            line.clear();
        }
        let mut seen = Seen::default();
        for r in &attached.recordings {
            seen.extend(&self.recorder.stop(*r)?);
        }
        Ok(TraceOutcome {
            seen,
            container,
            cgroup: attached.cgroup.unwrap_or_default(),
            from_start: attached.from_start,
            end,
            confined,
        })
    }

    fn seen_so_far(&self, recordings: &[RecordingId]) -> usize {
        let mut seen = Seen::default();
        for r in recordings {
            if let Ok(s) = self.recorder.seen(*r) {
                seen.extend(&s);
            }
        }
        seen.len()
    }
}

/// Fills in what the engines now know about `c`.
fn refresh(layout: &HostLayout, c: &mut Container) {
    if let Some(now) = container::list(layout).into_iter().find(|n| n.id == c.id) {
        c.runtime = now.runtime;
        if c.no_new_privileges.is_none() {
            c.no_new_privileges = now.no_new_privileges;
        }
    }
}

/// The first of `pids` that runs under seccomp.
fn find_confined(proc: &Path, pids: &[i32]) -> Option<ConfinedProcess> {
    pids.iter().find_map(|&pid| {
        let status = fs::read_to_string(proc.join(pid.to_string()).join("status")).ok()?;
        let mode = seccomp_mode(&status)?;
        (mode != 0).then_some(ConfinedProcess { pid, mode })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_confined_processes() {
        let dir = tempfile::tempdir().unwrap();
        for (pid, mode) in [(10, 0), (11, 2)] {
            fs::create_dir_all(dir.path().join(pid.to_string())).unwrap();
            fs::write(
                dir.path().join(pid.to_string()).join("status"),
                format!("Name:\tsh\nSeccomp:\t{mode}\nSeccomp_filters:\t1\n"),
            )
            .unwrap();
        }
        assert_eq!(find_confined(dir.path(), &[10]), None);
        assert_eq!(
            find_confined(dir.path(), &[10, 11, 12]),
            Some(ConfinedProcess { pid: 11, mode: 2 })
        );
    }
}
