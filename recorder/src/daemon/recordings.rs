//! The daemon's recordings: every container it records, and those it saw
//! but did not record, as `recorder status` and the API show them.
//!
//! Recordings under way are kept until their container ends; ended and
//! unrecorded ones stay listed (the newest [`HISTORY`]) so that a `trace`
//! that asks a moment after a short container ended still finds it.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use recorder_common::ArgSyscall;

use crate::bpf::{ArgUse, ArgValues, RecordingId, Seen};
use crate::container::{Container, OciRuntime};

use super::filing::workload_of_pod;

/// Ended and unrecorded recordings kept listed.
pub const HISTORY: usize = 1024;

/// Where a recording is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingState {
    /// Its container runs; the profile is written every flush interval.
    Recording,
    /// Its container ended and the profile holds its run.
    Written,
    /// Its container ended, and writing the profile failed so far: the
    /// daemon keeps it in memory and tries again.
    Pending,
    /// Seen and not recorded (see `reason`).
    Unrecorded,
}

/// Why a container was not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unrecorded {
    /// `--max-recordings` containers were being recorded already.
    NoSlot,
    /// The kernel side had no slot free when its cgroup appeared (more new
    /// cgroups at once than the slots kept apart to tell them).
    TriageFull,
    /// Left out by `--engine`, `--namespace`, `--exclude-namespace` or
    /// `--name`.
    Filtered,
}

impl Unrecorded {
    pub const ALL: [Unrecorded; 3] = [
        Unrecorded::NoSlot,
        Unrecorded::TriageFull,
        Unrecorded::Filtered,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Unrecorded::NoSlot => "no-slot",
            Unrecorded::TriageFull => "triage-full",
            Unrecorded::Filtered => "filtered",
        }
    }
}

/// The Kubernetes part of a recording's view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubernetesView {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub workload: String,
}

/// One recording as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingView {
    /// The container's id.
    pub id: String,
    /// docker, podman, containerd, crio, runc, crun or unknown.
    pub engine: String,
    /// Its name (the Kubernetes container name, the engine's name, or the
    /// id where there is none).
    pub name: String,
    pub kubernetes: Option<KubernetesView>,
    /// The workload profile's path.
    pub profile: Option<PathBuf>,
    pub state: RecordingState,
    /// Why it is not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Unrecorded>,
    /// Recorded from its middle (it ran before the daemon saw it).
    pub partial: bool,
    /// Distinct syscalls so far.
    pub syscalls: usize,
    /// RFC 3339.
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// A number that tells apart recordings of one container id (Docker
    /// keeps the id over restarts).
    pub recording: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
}

/// One recording with what it saw: what `recorder trace` takes from the
/// daemon instead of recording the container itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingDetail {
    #[serde(flatten)]
    pub view: RecordingView,
    pub seen: SeenView,
    /// Its cgroup, relative to the cgroup2 mount.
    pub cgroup: Option<PathBuf>,
}

/// [`Seen`] in JSON: syscall numbers per ABI row.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenView {
    pub native: Vec<u32>,
    pub compat: Vec<u32>,
    pub third: Vec<u32>,
    pub out_of_range: u64,
    /// The arguments of the captured syscalls, by syscall name, when the
    /// daemon captures them (`--args`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<BTreeMap<String, ArgUseView>>,
}

/// [`ArgUse`] in JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArgUseView {
    Values(Vec<Vec<u64>>),
    Flags(u64),
    Overflowed,
}

impl From<&Seen> for SeenView {
    fn from(seen: &Seen) -> SeenView {
        SeenView {
            native: seen.native.iter().copied().collect(),
            compat: seen.compat.iter().copied().collect(),
            third: seen.third.iter().copied().collect(),
            out_of_range: seen.out_of_range,
            args: seen.args.as_ref().map(|args| {
                args.by_syscall
                    .iter()
                    .map(|(syscall, used)| {
                        let view = match used {
                            ArgUse::Values(v) => ArgUseView::Values(v.iter().cloned().collect()),
                            ArgUse::Flags(f) => ArgUseView::Flags(*f),
                            ArgUse::Overflowed => ArgUseView::Overflowed,
                        };
                        (syscall.name().to_string(), view)
                    })
                    .collect()
            }),
        }
    }
}

impl From<&SeenView> for Seen {
    fn from(view: &SeenView) -> Seen {
        Seen {
            native: view.native.iter().copied().collect(),
            compat: view.compat.iter().copied().collect(),
            third: view.third.iter().copied().collect(),
            out_of_range: view.out_of_range,
            // Names a newer daemon captures and this recorder does not
            // know are left out: their syscalls stay unconditional.
            args: view.args.as_ref().map(|args| ArgValues {
                by_syscall: args
                    .iter()
                    .filter_map(|(name, used)| {
                        let used = match used {
                            ArgUseView::Values(v) => ArgUse::Values(v.iter().cloned().collect()),
                            ArgUseView::Flags(f) => ArgUse::Flags(*f),
                            ArgUseView::Overflowed => ArgUse::Overflowed,
                        };
                        Some((ArgSyscall::from_name(name)?, used))
                    })
                    .collect(),
            }),
        }
    }
}

/// A recording in the daemon.
#[derive(Clone, Debug)]
pub struct Recording {
    pub view: RecordingView,
    pub container: Container,
    /// The kernel's recording, while it runs.
    pub kernel: Option<RecordingId>,
    /// What it saw: the last read while it runs, then all.
    pub seen: Seen,
    /// The workload profile's path below the output directory.
    pub filed_as: Option<PathBuf>,
}

impl Recording {
    pub fn new(
        seq: u64,
        container: Container,
        filed_as: Option<PathBuf>,
        dir: &std::path::Path,
        started: String,
    ) -> Recording {
        let view = RecordingView {
            id: container.id.clone(),
            engine: super::filing::engine_name(&container.engine).to_string(),
            name: display_name(&container),
            kubernetes: container.kubernetes.as_ref().map(|k| KubernetesView {
                namespace: k.namespace.clone(),
                pod: k.pod.clone(),
                container: k.container.clone(),
                workload: workload_of_pod(&k.pod),
            }),
            profile: filed_as.as_ref().map(|p| dir.join(p)),
            state: RecordingState::Recording,
            reason: None,
            partial: false,
            syscalls: 0,
            started,
            ended: None,
            recording: seq,
            runtime: container.runtime.map(|r| OciRuntime::name(r).to_string()),
        };
        Recording {
            view,
            container,
            kernel: None,
            seen: Seen::default(),
            filed_as,
        }
    }

    pub fn detail(&self) -> RecordingDetail {
        RecordingDetail {
            view: self.view.clone(),
            seen: SeenView::from(&self.seen),
            cgroup: self.container.cgroup.clone(),
        }
    }
}

/// The name shown for a container.
fn display_name(c: &Container) -> String {
    if let Some(k) = &c.kubernetes {
        return k.container.clone();
    }
    c.names
        .iter()
        .find(|n| **n != c.id)
        .cloned()
        .unwrap_or_else(|| c.id.clone())
}

/// Every recording the daemon knows, by number.
#[derive(Default)]
pub struct Recordings {
    next: u64,
    live: BTreeMap<u64, Recording>,
    history: VecDeque<Recording>,
}

impl Recordings {
    /// The number of the next recording.
    pub fn next_number(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub fn add_live(&mut self, recording: Recording) {
        self.live.insert(recording.view.recording, recording);
    }

    /// Lists a recording that is over (ended, or never recorded).
    pub fn add_ended(&mut self, recording: Recording) {
        self.history.push_back(recording);
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }

    /// Recordings under way.
    pub fn live(&self) -> impl Iterator<Item = &Recording> {
        self.live.values()
    }

    pub fn live_mut(&mut self) -> impl Iterator<Item = &mut Recording> {
        self.live.values_mut()
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    pub fn get_live_mut(&mut self, number: u64) -> Option<&mut Recording> {
        self.live.get_mut(&number)
    }

    /// Takes a recording off the live list (its container ended).
    pub fn take_live(&mut self, number: u64) -> Option<Recording> {
        self.live.remove(&number)
    }

    /// The live recording of a kernel slot.
    pub fn number_of_slot(&self, slot: u32) -> Option<u64> {
        self.live
            .values()
            .find(|r| r.kernel.is_some_and(|k| k.slot() == slot))
            .map(|r| r.view.recording)
    }

    /// Every recording, oldest first.
    pub fn all(&self) -> impl Iterator<Item = &Recording> {
        let mut all: Vec<&Recording> = self.history.iter().chain(self.live.values()).collect();
        all.sort_by_key(|r| r.view.recording);
        all.into_iter()
    }

    /// The newest recording of container `id` (or with that number).
    pub fn find(&self, id: &str) -> Option<&Recording> {
        self.all()
            .filter(|r| r.view.id == id || r.view.recording.to_string() == id)
            .last()
    }

    /// Ended recordings filed under `path` whose write failed: written now.
    pub fn written(&mut self, path: &std::path::Path) {
        for r in &mut self.history {
            if r.view.state == RecordingState::Pending && r.filed_as.as_deref() == Some(path) {
                r.view.state = RecordingState::Written;
            }
        }
    }

    /// Whether a live recording has this cgroup.
    pub fn records_cgroup(&self, cgroup: &std::path::Path) -> bool {
        self.live
            .values()
            .any(|r| r.container.cgroup.as_deref() == Some(cgroup))
    }
}
