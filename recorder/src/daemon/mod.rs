//! `recorder daemon`: an always-on node recorder that records every
//! container from its first syscall and files one profile per workload.
//!
//! One program load serves the node. The kernel side starts a recording for
//! every cgroup created while the daemon runs, at the cgroup's first
//! syscall, and announces it once ([`crate::bpf::NewCgroups`]); the daemon
//! tells what it is while its first process runs ([`crate::triage`], the
//! step `trace --wait` uses too) and keeps the recordings of containers,
//! dropping everything else (services, sessions, pods' sandboxes), whose
//! cgroups are marked so that they never take a slot again. Containers
//! running when the daemon starts are recorded from then on, marked partial.
//!
//! A recording ends when its container's last process exits (a watch on
//! its cgroup's `cgroup.events` says so, no polling); its run is folded into
//! its workload's profile ([`profiles`], filed by [`filing`]) and written.
//! Running containers' profiles are written every `--flush` interval and on
//! SIGTERM/SIGINT; reading a recording never resets it. A write that fails
//! is kept in memory and tried again. [`api`] serves the recordings, the
//! live profiles and a flush on a Unix socket, and Prometheus metrics.
//!
//! Everything runs on one tokio thread: the work per container is small,
//! and one owner of the kernel maps keeps it simple.

mod api;
pub mod client;
pub mod filing;
mod metrics;
pub mod profiles;
pub mod recordings;

pub use api::DaemonInfo;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use inotify::{Inotify, WatchDescriptor, WatchMask, Watches};
use tokio::signal::unix::{SignalKind, signal};

use crate::arch::ArchPolicy;
use crate::bpf::{AttachKind, BpfError, LoadOptions, NewCgroups, Scope, Start, SyscallRecorder};
use crate::capture::SyscallSet;
use crate::cgroup::{Cgroup2Mount, CgroupError, CgroupId, id_of_dir};
use crate::container::identify::Identified;
use crate::container::{self, Container, HostLayout, Status};
use crate::self_confine::{self, Confinement, Role, SelfConfineError, Write};
use crate::triage::{Arrival, Decision, Sighting, Triage, running_scope};

use metrics::{Gauges, Metrics};
use profiles::{BookOptions, ProfileBook};
use recordings::{Recording, RecordingState, Recordings, Unrecorded};

/// Slots kept apart from `--max-recordings` to tell new cgroups in: each
/// new cgroup holds one from its first syscall until the daemon has told
/// what it is (milliseconds). More cgroups appearing at once than this are
/// left unrecorded and said so.
pub const TRIAGE_SLOTS: u32 = 256;

/// The daemon's settings (its command-line flags).
#[derive(Clone, Debug)]
pub struct DaemonOptions {
    /// Where profiles are filed.
    pub output: PathBuf,
    /// The API's Unix socket.
    pub socket: PathBuf,
    /// How often running containers' profiles are written.
    pub flush: Duration,
    /// Where Prometheus metrics are served, if anywhere.
    pub metrics: Option<SocketAddr>,
    /// Containers recorded at once.
    pub max_recordings: u32,
    /// Created once every container started from then on is recorded.
    pub ready_file: Option<PathBuf>,
    pub filter: Filter,
    pub errno: u32,
    pub arch_policy: ArchPolicy,
    /// Also write each profile as a SeccompProfile object (`.yaml`).
    pub crd: bool,
    /// Capture the arguments that matter and write conditions for them.
    pub args: bool,
    pub attach: Option<AttachKind>,
    /// Where engines keep their state; `None` for this host.
    pub layout: Option<HostLayout>,
    /// How the daemon lowers itself once set up.
    pub confinement: Confinement,
}

/// Which containers to record.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Engines (`docker`, `podman`, `containerd`, `crio`, `runc`, `crun`);
    /// empty for all.
    pub engines: Vec<String>,
    /// Kubernetes namespaces; empty for all containers, those the kubelet
    /// did not start included.
    pub namespaces: Vec<String>,
    pub exclude_namespaces: Vec<String>,
    /// Matched against each of a container's names and its id.
    pub name: Option<glob::Pattern>,
}

impl Filter {
    fn admits(&self, c: &Container) -> bool {
        let engine = filing::engine_name(&c.engine);
        if !self.engines.is_empty() && !self.engines.iter().any(|e| e == engine) {
            return false;
        }
        let namespace = c.kubernetes.as_ref().map(|k| k.namespace.as_str());
        if !self.namespaces.is_empty()
            && !namespace.is_some_and(|n| self.namespaces.iter().any(|w| w == n))
        {
            return false;
        }
        if namespace.is_some_and(|n| self.exclude_namespaces.iter().any(|x| x == n)) {
            return false;
        }
        match &self.name {
            Some(glob) => c
                .names
                .iter()
                .chain(std::iter::once(&c.id))
                .any(|n| glob.matches(n)),
            None => true,
        }
    }
}

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Bpf(#[from] BpfError),
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error(
        "another recorder daemon answers at {0}: stop it first, or give this one another --socket"
    )]
    AlreadyRunning(PathBuf),
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    SelfConfine(#[from] SelfConfineError),
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> DaemonError {
    let what = what.into();
    move |source| DaemonError::Io { what, source }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(options: DaemonOptions) -> Result<(), DaemonError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_error("starting the event loop"))?;
    runtime.block_on(serve(options))
}

/// What an inotify watch of the daemon's watches.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Watched {
    /// A recorded container's `cgroup.events` (its `populated` line).
    Events(u64),
    /// A directory whose child cgroups are recorded containers': their
    /// removal (relative to the cgroup2 mount).
    Parent(PathBuf),
}

/// The daemon's state, shared by the event loop and the API.
pub(crate) struct State {
    recorder: SyscallRecorder,
    triage: Triage,
    layout: HostLayout,
    mount: Cgroup2Mount,
    options: DaemonOptions,
    book: ProfileBook,
    recordings: Recordings,
    metrics: Metrics,
    watches: Watches,
    /// What each watch watches.
    watched: HashMap<WatchDescriptor, Watched>,
    /// New-cgroup announcements lost (ring buffer full), as last read.
    lost: u64,
    /// When writes started to fail, for one warning per failing spell.
    failing_since: Option<Instant>,
}

pub(crate) type Shared = Arc<Mutex<State>>;

/// The state, locked; a panic elsewhere while it was held leaves it usable.
pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

async fn serve(options: DaemonOptions) -> Result<(), DaemonError> {
    let confinement = self_confine::prepare(Role::Daemon, &options.confinement)?;
    let mount = Cgroup2Mount::find()?;
    let layout = options
        .layout
        .clone()
        .unwrap_or_else(|| HostLayout::host(&mount.root));
    let listener = api::bind(&options.socket)?;
    let mut recorder = SyscallRecorder::load_options(LoadOptions {
        attach: options.attach,
        slots: options.max_recordings.saturating_add(TRIAGE_SLOTS),
        args: options.args,
        ..LoadOptions::default()
    })?;
    log::debug!("hook: {}", recorder.attach_kind());
    let new_cgroups = recorder
        .take_new_cgroups()
        .ok_or(BpfError::Missing(recorder_common::map::NEW_CGROUPS))?;
    let inotify = Inotify::init().map_err(io_error("starting inotify"))?;
    let watches = inotify.watches();
    let mut container_events = inotify
        .into_event_stream(vec![0u8; 16 * 1024])
        .map_err(io_error("watching cgroups"))?;
    if let Err(e) = fs::create_dir_all(&options.output) {
        log::warn!(
            "cannot create {}: {e}: recording anyway, profiles are kept in memory until it can be written",
            options.output.display(),
            e = crate::messages::Chain(&e),
        );
    }
    let mut terminate = signal(SignalKind::terminate()).map_err(io_error("handling SIGTERM"))?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(io_error("handling SIGINT"))?;

    // From this moment every new cgroup is recorded from its first
    // syscall; what runs already is found by a scan after it.
    let after = mount.newest_id()?;
    recorder.record_new_cgroups(
        after,
        Start::AtFirstExec,
        Scope::Container {
            runtime_mount_ns: None,
        },
        0,
    )?;
    let hostname = hostname();
    let book = ProfileBook::new(BookOptions {
        dir: options.output.clone(),
        errno: options.errno,
        arch_policy: options.arch_policy,
        crd: options.crd,
        hostname,
    });
    let shared: Shared = Arc::new(Mutex::new(State {
        recorder,
        triage: Triage::new(layout.clone(), mount.clone()),
        layout,
        mount,
        options: options.clone(),
        book,
        recordings: Recordings::default(),
        metrics: Metrics::default(),
        watches,
        watched: HashMap::new(),
        lost: 0,
        failing_since: None,
    }));
    let metrics_listener = match options.metrics {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .map_err(io_error(format!("serving metrics at {address}")))?,
        ),
        None => None,
    };
    // Set up: from here on the daemon reads its maps through the fds it
    // holds, runtime state and /proc, and writes profiles; the threads it
    // starts from now on inherit what it keeps.
    confinement.apply(&daemon_writes(&options));
    let mut sightings = spawn_sighting(new_cgroups, lock(&shared).triage.clone())
        .map_err(io_error("starting the thread that reads new cgroups"))?;
    lock(&shared).record_running(after);
    if let Some(path) = &options.ready_file {
        fs::write(path, "").map_err(io_error(format!(
            "creating the ready file {}",
            path.display()
        )))?;
    }
    crate::notice!(
        "daemon recording every new container (up to {} at once); profiles in {}; API at {}",
        options.max_recordings,
        options.output.display(),
        options.socket.display()
    );
    tokio::spawn(api::serve_socket(listener, shared.clone()));
    if let Some(listener) = metrics_listener {
        tokio::spawn(api::serve_metrics(listener, shared.clone()));
    }

    let mut flush =
        tokio::time::interval_at(tokio::time::Instant::now() + options.flush, options.flush);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Containers being created as the daemon started (their cgroups older
    // than its start, their state not yet written) are found by a second
    // look a moment later.
    let rescan = tokio::time::sleep(Duration::from_secs(2));
    tokio::pin!(rescan);
    let mut rescanned = false;
    loop {
        let recycle_at = lock(&shared).recorder.next_recycle();
        let recycle = async {
            match recycle_at {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            sighting = sightings.recv() => {
                let Some(sighting) = sighting else {
                    return Err(io_error("reading new cgroups")(io::Error::other(
                        "the thread that reads them stopped",
                    )));
                };
                let mut state = lock(&shared);
                state.arrive(sighting);
                while let Ok(more) = sightings.try_recv() {
                    state.arrive(more);
                }
                state.recover_lost();
            }
            event = container_events.next() => {
                match event {
                    Some(Ok(event)) => {
                        lock(&shared).cgroup_changed(&event.wd, event.name.as_deref())
                    }
                    Some(Err(e)) => log::warn!("watching cgroups: {e}", e = crate::messages::Chain(&e)),
                    None => {}
                }
            }
            _ = flush.tick() => {
                let mut state = lock(&shared);
                state.recover_lost();
                state.flush();
                state.sweep_ignored();
            }
            () = recycle => {
                if let Err(e) = lock(&shared).recorder.recycle() {
                    log::warn!("{e}", e = crate::messages::Chain(&e));
                }
            }
            () = &mut rescan, if !rescanned => {
                rescanned = true;
                lock(&shared).record_running(after);
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    let mut state = lock(&shared);
    state.flush();
    let pending = state.book.pending();
    if pending > 0 {
        log::warn!(
            "stopping with {pending} profiles unwritten: {}",
            state.book.failing().unwrap_or_default()
        );
    }
    let _ = fs::remove_file(&options.socket);
    Ok(())
}

/// Milliseconds the reader of new cgroups waits before it reads (tests
/// only: see [`spawn_sighting`]).
pub const SIGHTING_DELAY_ENV: &str = "RECORDER_TEST_SIGHTING_DELAY_MS";

/// Where the daemon writes once set up: its profiles, the ready file, and
/// its socket's directory (the socket is removed as it stops).
fn daemon_writes(options: &DaemonOptions) -> Vec<Write> {
    let parent = |p: &Path| {
        Write::InDirectory(
            p.parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
        )
    };
    let mut writes = vec![
        Write::InDirectory(options.output.clone()),
        parent(&options.socket),
    ];
    writes.extend(options.ready_file.as_deref().map(parent));
    writes
}

/// Reads the kernel side's announcements of new cgroups on a thread of its
/// own, and reads what tells each (its runtime's call and bundle) the moment
/// it comes: a short container's are gone within milliseconds, and the
/// event loop may be busy writing profiles. The sightings go to the loop.
fn spawn_sighting(
    mut new_cgroups: NewCgroups,
    triage: Triage,
) -> io::Result<tokio::sync::mpsc::UnboundedReceiver<Sighting>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    // Fault injection for the tests: a reader this late finds every
    // process of a short container gone, and must tell it by what the
    // kernel read.
    let late = std::env::var(SIGHTING_DELAY_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis);
    std::thread::Builder::new()
        .name("new-cgroups".into())
        .spawn(move || {
            loop {
                if let Err(e) = new_cgroups.wait(Duration::from_secs(1)) {
                    log::warn!(
                        "waiting for new cgroups: {e}",
                        e = crate::messages::Chain(&e)
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
                if let Some(late) = late {
                    std::thread::sleep(late);
                }
                for new in new_cgroups.by_ref() {
                    if tx.send(triage.sight(new)).is_err() {
                        return;
                    }
                }
                if tx.is_closed() {
                    return;
                }
            }
        })?;
    Ok(rx)
}

/// This node's name, for the meta files.
fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The time now in RFC 3339 (UTC, seconds).
fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

impl State {
    /// Tells a sighted cgroup and keeps its recording when it is a
    /// container the daemon records.
    fn arrive(&mut self, sighting: Sighting) {
        // Told already: its announcement came after the kernel's list was
        // read for announcements the ring buffer had no room for.
        let cgroup = sighting.new.cgroup;
        if self
            .recordings
            .live()
            .any(|r| r.kernel.is_some_and(|k| k.root() == cgroup))
        {
            return;
        }
        let arrival = self.triage.arrive(&self.recorder, sighting);
        self.settle(arrival);
    }

    fn settle(&mut self, arrival: Arrival) {
        let container = match &arrival.identified {
            Identified::Container(c) => (**c).clone(),
            Identified::Sandbox(_) | Identified::NotContainer(_) => {
                self.drop_arrival(&arrival);
                return;
            }
        };
        let reason = if !self.options.filter.admits(&container) {
            Some(Unrecorded::Filtered)
        } else if arrival.recording.is_none() {
            Some(Unrecorded::TriageFull)
        } else if self.recordings.live_count() >= self.options.max_recordings as usize {
            Some(Unrecorded::NoSlot)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.drop_arrival(&arrival);
            self.unrecorded(container, reason);
            return;
        }
        if let Err(e) = Triage::settle(&mut self.recorder, &arrival, Decision::Keep) {
            log::warn!(
                "keeping the recording of {}: {e}",
                container.describe(),
                e = crate::messages::Chain(&e)
            );
            return;
        }
        let mut container = container;
        if container.cgroup.is_none() {
            container.cgroup = arrival.path.clone();
        }
        self.add_live(container, arrival.recording, false);
    }

    fn drop_arrival(&mut self, arrival: &Arrival) {
        if let Err(e) = Triage::settle(&mut self.recorder, arrival, Decision::Drop) {
            log::warn!(
                "dropping the recording of cgroup {}: {e}",
                arrival.cgroup.0,
                e = crate::messages::Chain(&e)
            );
        }
    }

    /// Lists a container that is not recorded, and says so.
    fn unrecorded(&mut self, container: Container, reason: Unrecorded) {
        *self.metrics.unrecorded_total.entry(reason).or_default() += 1;
        if reason != Unrecorded::Filtered {
            let why = match reason {
                Unrecorded::NoSlot => format!(
                    "all {} recording slots are in use (--max-recordings)",
                    self.options.max_recordings
                ),
                _ => format!(
                    "more new cgroups appeared at once than the {TRIAGE_SLOTS} slots kept to tell them apart"
                ),
            };
            log::warn!(
                "{} is not recorded: {why}; it stays unrecorded until it ends",
                container.describe()
            );
        }
        let number = self.recordings.next_number();
        let filed_as = Some(filing::profile_path(&container));
        let mut recording = Recording::new(number, container, filed_as, self.book.dir(), now());
        recording.view.state = RecordingState::Unrecorded;
        recording.view.reason = Some(reason);
        self.recordings.add_ended(recording);
    }

    /// Starts following a recording of `container` under way in the
    /// kernel, and files its run.
    fn add_live(
        &mut self,
        container: Container,
        kernel: Option<crate::bpf::RecordingId>,
        partial: bool,
    ) {
        let number = self.recordings.next_number();
        let filed_as = filing::profile_path(&container);
        log::info!(
            "recording {} as {}{}",
            container.describe(),
            filed_as.display(),
            if partial { " (from now on)" } else { "" }
        );
        self.book
            .start_run(&filed_as, &container.id, container.runtime, partial, &now());
        *self
            .metrics
            .recordings_total
            .entry(filing::engine_name(&container.engine).to_string())
            .or_default() += 1;
        let cgroup = container.cgroup.clone();
        let mut recording =
            Recording::new(number, container, Some(filed_as), self.book.dir(), now());
        recording.kernel = kernel;
        recording.view.partial = partial;
        self.recordings.add_live(recording);
        // Watch first, then look: a container that ended before the watch
        // was in place is seen to have ended. The kernel tells a change of
        // `populated` in cgroup.events up to 10 ms late, and not at all when
        // the runtime removes the cgroup meanwhile (a container that exits
        // at once); kernfs gives a removed directory no IN_DELETE_SELF, but
        // its parent an IN_DELETE: the parent is watched too.
        if let Some(cgroup) = &cgroup {
            let dir = self.layout.cgroup_dir(cgroup);
            self.watch(
                &dir.join("cgroup.events"),
                WatchMask::MODIFY,
                Watched::Events(number),
            );
            if let Some(parent) = cgroup.parent() {
                self.watch(
                    &self.layout.cgroup_dir(parent),
                    WatchMask::DELETE | WatchMask::ONLYDIR,
                    Watched::Parent(parent.to_path_buf()),
                );
            }
        }
        if cgroup.is_none_or(|c| has_ended(&self.layout.cgroup_dir(&c))) {
            self.end(number);
        }
    }

    fn watch(&mut self, path: &Path, mask: WatchMask, what: Watched) {
        match self.watches.add(path, mask) {
            Ok(wd) => {
                log::debug!("watching {} ({wd:?})", path.display());
                self.watched.insert(wd, what);
            }
            Err(e) => log::debug!(
                "watching {}: {e}",
                path.display(),
                e = crate::messages::Chain(&e)
            ),
        }
    }

    /// Ends the recordings whose containers ended unnoticed: a safety net
    /// under the watches, run with each flush.
    fn end_ended(&mut self) {
        let ended: Vec<u64> = self
            .recordings
            .live()
            .filter(|r| {
                r.container
                    .cgroup
                    .as_deref()
                    .is_none_or(|c| has_ended(&self.layout.cgroup_dir(c)))
            })
            .map(|r| r.view.recording)
            .collect();
        for number in ended {
            self.end(number);
        }
    }

    /// A watch fired: a recorded container's cgroup emptied, or a cgroup
    /// was removed, which may be a recorded container's.
    fn cgroup_changed(&mut self, wd: &WatchDescriptor, name: Option<&std::ffi::OsStr>) {
        let number = match (self.watched.get(wd), name) {
            (Some(Watched::Events(number)), _) => Some(*number),
            (Some(Watched::Parent(parent)), Some(name)) => {
                let cgroup = parent.join(name);
                self.recordings
                    .live()
                    .find(|r| r.container.cgroup.as_deref() == Some(cgroup.as_path()))
                    .map(|r| r.view.recording)
            }
            _ => None,
        };
        let Some(number) = number else {
            return;
        };
        let ended = self
            .recordings
            .get_live_mut(number)
            .and_then(|r| r.container.cgroup.clone())
            .is_none_or(|c| has_ended(&self.layout.cgroup_dir(&c)));
        log::debug!("cgroup of recording {number} changed: ended {ended}");
        if ended {
            self.end(number);
        }
    }

    /// Ends a recording whose container ended: its run goes into its
    /// workload's profile, which is written now.
    fn end(&mut self, number: u64) {
        let Some(mut recording) = self.recordings.take_live(number) else {
            return;
        };
        // A parent's watch goes with the last recording below it.
        let parents: Vec<PathBuf> = self
            .recordings
            .live()
            .filter_map(|r| {
                r.container
                    .cgroup
                    .as_deref()?
                    .parent()
                    .map(Path::to_path_buf)
            })
            .collect();
        let watches = &mut self.watches;
        self.watched.retain(|wd, what| {
            let keep = match what {
                Watched::Events(n) => *n != number,
                Watched::Parent(parent) => parents.contains(parent),
            };
            if !keep {
                let _ = watches.remove(wd.clone());
            }
            keep
        });
        if let Some(kernel) = recording.kernel.take() {
            match self.recorder.stop(kernel) {
                Ok(seen) => recording.seen = seen,
                Err(e) => log::warn!(
                    "reading the recording of {}: {e}",
                    recording.container.describe(),
                    e = crate::messages::Chain(&e),
                ),
            }
        }
        recording.view.syscalls = recording.seen.len();
        recording.view.ended = Some(now());
        let Some(path) = recording.filed_as.clone() else {
            return;
        };
        self.book.end_run(
            &path,
            &recording.container.id,
            SyscallSet::from_seen(&recording.seen),
            &now(),
        );
        recording.view.state = if self.write(&path) {
            RecordingState::Written
        } else {
            RecordingState::Pending
        };
        log::info!(
            "{} ended: {} syscalls, filed in {}",
            recording.container.describe(),
            recording.view.syscalls,
            path.display()
        );
        self.recordings.add_ended(recording);
    }

    /// Writes one profile when it changed; `true` when it is on disk.
    fn write(&mut self, path: &Path) -> bool {
        match self.book.write(path) {
            Ok(written) => {
                if written {
                    self.metrics.profiles_written_total += 1;
                }
                if self.book.pending() == 0 && self.failing_since.take().is_some() {
                    log::warn!("profiles are written again");
                }
                true
            }
            Err(e) => {
                self.metrics.profile_write_errors_total += 1;
                if self.failing_since.is_none() {
                    self.failing_since = Some(Instant::now());
                    log::warn!(
                        "{e}: the profile stays in memory and is written once it can be (tried every --flush interval); recording goes on",
                        e = crate::messages::Chain(&e),
                    );
                }
                false
            }
        }
    }

    /// Reads what each recording under way saw so far (reading never
    /// resets it).
    fn read_live(&mut self) {
        for recording in self.recordings.live_mut() {
            let Some(kernel) = recording.kernel else {
                continue;
            };
            match self.recorder.seen(kernel) {
                Ok(seen) => {
                    recording.view.syscalls = seen.len();
                    recording.seen = seen;
                }
                Err(e) => log::warn!(
                    "reading {}: {e}",
                    recording.container.describe(),
                    e = crate::messages::Chain(&e)
                ),
            }
        }
    }

    /// Writes every profile that changed, running containers' with what
    /// they did so far; and the profiles whose last write failed.
    pub(crate) fn flush(&mut self) -> FlushReport {
        let started = Instant::now();
        self.end_ended();
        self.read_live();
        let live: Vec<(PathBuf, String, SyscallSet)> = self
            .recordings
            .live()
            .filter_map(|r| {
                let path = r.filed_as.clone()?;
                Some((path, r.container.id.clone(), SyscallSet::from_seen(&r.seen)))
            })
            .collect();
        for (path, id, set) in live {
            self.book.update_run(&path, &id, set);
        }
        let mut report = FlushReport::default();
        for path in self.book.paths() {
            let before = self.metrics.profiles_written_total;
            if self.write(&path) {
                if self.metrics.profiles_written_total > before {
                    report.written += 1;
                }
                self.recordings.written(&path);
            } else {
                report.failed.push(path.display().to_string());
            }
        }
        self.metrics.last_flush = started.elapsed();
        report
    }

    /// Forgets the ignore marks of cgroups that are gone, so that the
    /// kernel map only holds live ones.
    fn sweep_ignored(&mut self) {
        let ignored = match self.recorder.ignored() {
            Ok(ignored) => ignored,
            Err(e) => {
                log::warn!("{e}", e = crate::messages::Chain(&e));
                return;
            }
        };
        for cgroup in ignored {
            if self.mount.path_of_id(cgroup).is_none()
                && let Err(e) = self.recorder.forget_ignored(cgroup)
            {
                log::warn!("{e}", e = crate::messages::Chain(&e));
            }
        }
    }

    /// Recordings whose announcement the ring buffer had no room for.
    fn recover_lost(&mut self) {
        let lost = match self.recorder.new_cgroups_lost() {
            Ok(lost) => lost,
            Err(e) => {
                log::warn!("{e}", e = crate::messages::Chain(&e));
                return;
            }
        };
        if lost <= self.lost {
            return;
        }
        log::warn!(
            "{} new-cgroup announcements did not fit the ring buffer: reading the kernel's list instead",
            lost - self.lost
        );
        self.lost = lost;
        let unannounced = self.recorder.new_cgroup_recordings().unwrap_or_default();
        for recording in unannounced {
            let arrival = self.triage.arrive_unannounced(recording);
            self.settle(arrival);
        }
    }

    /// Records the containers that run already, from now on (partial).
    /// Those started since `after` are the kernel side's.
    fn record_running(&mut self, after: CgroupId) {
        for c in container::list(&self.layout) {
            if c.status != Status::Running || c.sandbox {
                continue;
            }
            let (Some(pid), Some(cgroup)) = (c.pid, c.cgroup.clone()) else {
                continue;
            };
            if self.recordings.records_cgroup(&cgroup) {
                continue;
            }
            let Ok(id) = id_of_dir(&self.layout.cgroup_dir(&cgroup)) else {
                continue;
            };
            if id > after {
                continue;
            }
            if !self.options.filter.admits(&c) {
                continue;
            }
            if self.recordings.live_count() >= self.options.max_recordings as usize {
                self.unrecorded(c, Unrecorded::NoSlot);
                continue;
            }
            let scope = running_scope(&self.layout, self.recorder.reads_mount_ns(), pid);
            match self.recorder.start_scoped(id, Start::Now, scope) {
                Ok(kernel) => self.add_live(c, Some(kernel), true),
                Err(BpfError::AlreadyRecorded(_)) => {}
                Err(e) => log::warn!(
                    "recording {}: {e}",
                    c.describe(),
                    e = crate::messages::Chain(&e)
                ),
            }
        }
    }

    fn gauges(&self) -> Gauges {
        let active = self.recordings.live_count();
        Gauges {
            active,
            slots_used: active,
            slots_free: (self.options.max_recordings as usize).saturating_sub(active),
            slots_triage: self.recorder.new_cgroup_recordings().map_or(0, |r| r.len()),
            cgroups_ignored: self.recorder.ignored().map_or(0, |i| i.len()),
            pending_profiles: self.book.pending(),
            program: self.recorder.program_stats().filter(|s| s.run_count > 0),
        }
    }
}

/// What a flush did.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FlushReport {
    /// Profiles written (those that changed).
    pub written: usize,
    /// Profiles whose write failed.
    pub failed: Vec<String>,
}

/// Whether a container's cgroup says its last process is gone.
fn has_ended(dir: &Path) -> bool {
    !dir.is_dir() || !container::is_populated(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{Engine, KubernetesName};

    #[test]
    fn filters() {
        let mut web = Container::new(
            "3f2a".into(),
            Engine::Containerd {
                namespace: "k8s.io".into(),
            },
        );
        web.kubernetes = Some(KubernetesName {
            namespace: "shop".into(),
            pod: "web-5d8f7c9b4-x7k2p".into(),
            container: "app".into(),
        });
        web.names = vec!["shop/web-5d8f7c9b4-x7k2p/app".into(), "app".into()];
        let mut api = Container::new("8dbd".into(), Engine::Docker);
        api.names = vec!["api".into()];
        let all = Filter::default();
        assert!(all.admits(&web) && all.admits(&api));
        let shop = Filter {
            namespaces: vec!["shop".into()],
            ..Filter::default()
        };
        assert!(shop.admits(&web) && !shop.admits(&api));
        let not_shop = Filter {
            exclude_namespaces: vec!["shop".into()],
            ..Filter::default()
        };
        assert!(!not_shop.admits(&web) && not_shop.admits(&api));
        let docker = Filter {
            engines: vec!["docker".into()],
            ..Filter::default()
        };
        assert!(!docker.admits(&web) && docker.admits(&api));
        let named = Filter {
            name: Some(glob::Pattern::new("shop/web-*").unwrap()),
            ..Filter::default()
        };
        assert!(named.admits(&web) && !named.admits(&api));
    }
}
