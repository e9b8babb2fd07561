//! Waiting for a container or cgroup that does not run yet, to record it
//! from its first syscall.
//!
//! Before saying it waits, the recorder lets the kernel side start a
//! recording for every cgroup created from then on at that cgroup's first
//! syscall ([`SyscallRecorder::record_new_cgroups`]), so the runtime can
//! never be faster than the recorder, however soon it starts. Each new
//! cgroup is told at once ([`Triage`]): the container waited for is kept,
//! every other cgroup dropped and marked so that it takes no slot again.
//! Since a container is told by what exists when its cgroup appears (its
//! runtime's command line and bundle), one that exits within milliseconds
//! is found by its name too.
//!
//! [`SyscallRecorder::record_new_cgroups`]: crate::bpf::SyscallRecorder::record_new_cgroups

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Attached, POLL, Session, TraceError};
use crate::bpf::{BpfError, NewCgroups, RecordingId, Scope, Start};
use crate::cgroup::{CgroupId, id_of_dir};
use crate::container::{self, Status};
use crate::triage::{Arrival, Decision, Triage};

/// How often, while waiting for a container, the engines are asked about
/// it in case its cgroup is older than the wait (a runtime that reuses a
/// cgroup): the kernel side announces every newer one by itself.
const LIST_EVERY: Duration = Duration::from_millis(250);

/// A wait under way.
struct Waiting {
    new_cgroups: NewCgroups,
    triage: Triage,
    /// Cgroups with a larger id are announced by the kernel side.
    after: CgroupId,
    /// Cgroups told so far.
    told: BTreeSet<CgroupId>,
    /// Announcements the ring buffer had no room for, as last read.
    lost: u64,
    started: Instant,
    what: String,
}

impl Session<'_> {
    /// Records every new cgroup from now on, says so, and keeps the
    /// recording of the container `query` names once it appears.
    pub(super) fn wait_for_container(&mut self, query: &str) -> Result<Attached, TraceError> {
        let mut waiting = self.start_waiting(
            Start::AtFirstExec,
            Scope::Container {
                runtime_mount_ns: None,
            },
            format!("container {query}"),
        )?;
        let mut next_list = Instant::now();
        loop {
            for arrival in self.arrivals(&mut waiting)? {
                let wanted = arrival
                    .container()
                    .is_some_and(|c| container::find(std::slice::from_ref(c), query).is_ok());
                if !wanted {
                    Triage::settle(self.recorder, &arrival, Decision::Drop)?;
                    continue;
                }
                let Some(recording) = arrival.recording else {
                    self.recorder.stop_new_cgroups()?;
                    return Err(TraceError::Missed(query.to_string()));
                };
                Triage::settle(self.recorder, &arrival, Decision::Keep)?;
                self.recorder.stop_new_cgroups()?;
                let container = arrival.container().cloned();
                log::info!(
                    "recording {} in {}",
                    container.as_ref().map(|c| c.describe()).unwrap_or_default(),
                    arrival
                        .path
                        .as_deref()
                        .unwrap_or(std::path::Path::new("?"))
                        .display()
                );
                return Ok(Attached {
                    recordings: vec![recording],
                    cgroup: arrival.path.clone(),
                    container,
                    from_start: true,
                    process: None,
                    populated: true,
                });
            }
            if Instant::now() >= next_list {
                next_list = Instant::now() + LIST_EVERY;
                if let Some(attached) = self.attach_older_cgroup(query, waiting.after)? {
                    self.recorder.stop_new_cgroups()?;
                    return Ok(attached);
                }
            }
            self.wait_a_moment(&mut waiting)?;
        }
    }

    /// The container `query` names, when it runs (or waits to be started)
    /// in a cgroup older than the wait, which the kernel side does not
    /// announce: recorded from now on (from its start when it was only
    /// created).
    fn attach_older_cgroup(
        &mut self,
        query: &str,
        after: CgroupId,
    ) -> Result<Option<Attached>, TraceError> {
        let containers = container::list(self.layout);
        let Ok(c) = container::find(&containers, query) else {
            return Ok(None);
        };
        let live = matches!(c.status, Status::Running | Status::Created) && c.pid.is_some();
        let Some(cgroup) = c.cgroup.clone().filter(|_| live) else {
            return Ok(None);
        };
        let Ok(id) = id_of_dir(&self.layout.cgroup_dir(&cgroup)) else {
            return Ok(None);
        };
        if id > after {
            return Ok(None);
        }
        let start = if c.status == Status::Created {
            Start::AtFirstExec
        } else {
            Start::Now
        };
        let scope = Scope::Container {
            runtime_mount_ns: c.pid.and_then(|pid| self.runtime_mount_ns_of(pid)),
        };
        let recording = match self.recorder.start_scoped(id, start, scope) {
            Ok(r) => r,
            Err(BpfError::AlreadyRecorded(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if start == Start::Now {
            crate::messages::about_profile(format_args!(
                "warning: {}'s cgroup existed before the wait began: recording from now on",
                c.describe()
            ));
        }
        Ok(Some(Attached {
            recordings: vec![recording],
            cgroup: Some(cgroup),
            container: Some(c.clone()),
            from_start: start == Start::AtFirstExec,
            process: None,
            populated: false,
        }))
    }

    /// Records every new cgroup from now on and keeps those at or below
    /// `cgroup`, plus `cgroup` itself once it exists.
    pub(super) fn wait_for_cgroup(&mut self, cgroup: PathBuf) -> Result<Attached, TraceError> {
        let mut waiting = self.start_waiting(
            Start::Now,
            Scope::All,
            format!("cgroup {}", cgroup.display()),
        )?;
        let dir = self.layout.cgroup_dir(&cgroup);
        let mut mine: Vec<RecordingId> = Vec::new();
        loop {
            for arrival in self.arrivals(&mut waiting)? {
                let below = arrival
                    .path
                    .as_ref()
                    .is_some_and(|p| p.starts_with(&cgroup));
                match arrival.recording {
                    Some(recording) if below => {
                        Triage::settle(self.recorder, &arrival, Decision::Keep)?;
                        mine.push(recording);
                    }
                    _ => Triage::settle(self.recorder, &arrival, Decision::Drop)?,
                }
            }
            if dir.is_dir() {
                let id = id_of_dir(&dir)?;
                match self.recorder.start_scoped(id, Start::Now, Scope::All) {
                    Ok(r) => mine.push(r),
                    // The kernel side started it a moment ago: its
                    // announcement is on its way, unless it came already.
                    Err(BpfError::AlreadyRecorded(_)) if !mine.iter().any(|r| r.root() == id) => {
                        self.wait_a_moment(&mut waiting)?;
                        continue;
                    }
                    Err(BpfError::AlreadyRecorded(_)) => {}
                    Err(e) => return Err(e.into()),
                }
                self.recorder.stop_new_cgroups()?;
                return Ok(Attached {
                    recordings: mine,
                    container: self.container_in(&cgroup),
                    cgroup: Some(cgroup),
                    from_start: true,
                    process: None,
                    populated: false,
                });
            }
            self.wait_a_moment(&mut waiting)?;
        }
    }

    fn start_waiting(
        &mut self,
        start: Start,
        scope: Scope,
        what: String,
    ) -> Result<Waiting, TraceError> {
        let new_cgroups = self
            .recorder
            .take_new_cgroups()
            .ok_or(BpfError::Missing(recorder_common::map::NEW_CGROUPS))?;
        let after = self.mount.newest_id()?;
        self.recorder
            .record_new_cgroups(after, start, scope, crate::bpf::RESERVED_SLOTS)?;
        self.announce_waiting(&what)?;
        Ok(Waiting {
            new_cgroups,
            triage: Triage::new(self.layout.clone(), self.mount.clone()),
            after,
            told: BTreeSet::new(),
            lost: 0,
            started: Instant::now(),
            what,
        })
    }

    /// The new cgroups announced since the last look, told; and those whose
    /// announcement the ring buffer had no room for.
    fn arrivals(&mut self, waiting: &mut Waiting) -> Result<Vec<Arrival>, TraceError> {
        let mut arrivals = Vec::new();
        for new in waiting.new_cgroups.by_ref() {
            if waiting.told.insert(new.cgroup) {
                let sighting = waiting.triage.sight(new);
                arrivals.push(waiting.triage.arrive(self.recorder, sighting));
            }
        }
        let lost = self.recorder.new_cgroups_lost()?;
        if lost > waiting.lost {
            waiting.lost = lost;
            for recording in self.recorder.new_cgroup_recordings()? {
                if waiting.told.insert(recording.root()) {
                    arrivals.push(waiting.triage.arrive_unannounced(recording));
                }
            }
        }
        self.recorder.recycle()?;
        Ok(arrivals)
    }

    /// Waits for announcements up to [`POLL`], ending the wait on a signal
    /// or at `--timeout`.
    fn wait_a_moment(&mut self, waiting: &mut Waiting) -> Result<(), TraceError> {
        if self.signals.try_recv().is_ok() {
            self.recorder.stop_new_cgroups()?;
            return Err(TraceError::InterruptedWaiting(waiting.what.clone()));
        }
        if let Some(timeout) = self.options.timeout
            && waiting.started.elapsed() >= timeout
        {
            self.recorder.stop_new_cgroups()?;
            return Err(TraceError::WaitTimedOut {
                what: waiting.what.clone(),
                after: timeout,
            });
        }
        // An error here is a poll that failed: look again at the next turn.
        let _ = waiting.new_cgroups.wait(POLL);
        Ok(())
    }
}
