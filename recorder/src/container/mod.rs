//! Finding containers: from a name, id or id prefix to the container's
//! cgroup, init process, state and OCI runtime.
//!
//! Sits before capture in the flow: `recorder trace` resolves what the user
//! names here, then records the container's cgroup. Every engine is read
//! where it keeps its own truth, and the answers are merged by container id:
//!
//! - the OCI runtime's state directory ([`oci_state`]): pid, cgroup, whether
//!   it waits to be started, and which runtime (runc or crun) it is;
//! - Docker's API socket, or its container store when the daemon is down
//!   ([`docker`]): names and states;
//! - containers/storage, shared by podman and CRI-O ([`storage`]): names;
//! - the Kubernetes annotations in the runtime's state ([`kubernetes`]):
//!   `namespace/pod/container` names of containers the kubelet started;
//! - nerdctl's name store ([`nerdctl`]): names of containerd's containers;
//! - the cgroup2 tree ([`cgroup_names`]): containers of any engine, by the
//!   ids their cgroups are named after.
//!
//! The readers of the runtimes' own files ([`oci_state`], [`storage`],
//! [`kubernetes`], and [`runtime_call`] for their command lines) are the
//! `recorder-runtime` crate's, re-exported here: they need no eBPF
//! toolchain, so they build and are fuzzed on their own.
//!
//! All paths hang off a [`HostLayout`], so tests can lay out any engine's
//! files in a temporary directory.

pub mod base;
pub mod cgroup_names;
pub mod default_runtime;
pub mod derive;
pub mod docker;
pub mod identify;
pub mod nerdctl;

pub use recorder_runtime::{OciRuntime, kubernetes, oci_state, runtime_call, storage};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use cgroup_names::CgroupEngine;
use docker::DockerState;
pub use kubernetes::{KubernetesName, KubernetesRole};
use oci_state::RuntimeState;
use storage::StorageEngine;

/// Where a host keeps what is read here. [`HostLayout::host`] is the real
/// one; tests point one at a temporary tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostLayout {
    /// `/run`: runtime state, Docker's socket.
    pub run: PathBuf,
    /// `/var/lib`: Docker's and containers/storage's stores.
    pub var_lib: PathBuf,
    /// The cgroup2 mount.
    pub cgroup2: PathBuf,
    /// `/proc`.
    pub proc: PathBuf,
    /// `/etc`: engines' configuration (their default runtimes).
    pub etc: PathBuf,
    /// `/usr/share`: engines' shipped configuration.
    pub usr_share: PathBuf,
}

impl HostLayout {
    /// This host, with cgroup2 mounted at `cgroup2`.
    pub fn host(cgroup2: &Path) -> HostLayout {
        HostLayout {
            run: PathBuf::from("/run"),
            var_lib: PathBuf::from("/var/lib"),
            cgroup2: cgroup2.to_path_buf(),
            proc: PathBuf::from("/proc"),
            etc: PathBuf::from("/etc"),
            usr_share: PathBuf::from("/usr/share"),
        }
    }

    /// A layout whose `/run`, `/var/lib`, `/sys/fs/cgroup` and `/proc` are
    /// below `root`.
    pub fn under(root: &Path) -> HostLayout {
        HostLayout {
            run: root.join("run"),
            var_lib: root.join("var/lib"),
            cgroup2: root.join("sys/fs/cgroup"),
            proc: root.join("proc"),
            etc: root.join("etc"),
            usr_share: root.join("usr/share"),
        }
    }

    fn docker_socket(&self) -> PathBuf {
        self.run.join("docker.sock")
    }

    /// The absolute directory of a cgroup path relative to the mount.
    pub fn cgroup_dir(&self, cgroup: &Path) -> PathBuf {
        self.cgroup2
            .join(cgroup.strip_prefix("/").unwrap_or(cgroup))
    }
}

/// Who manages a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
    Containerd {
        namespace: String,
    },
    CriO,
    /// An OCI runtime driven by hand (`runc run`, `crun run`), or by an engine
    /// this module does not know.
    Plain(OciRuntime),
    /// Known only from its cgroup's name.
    Unknown,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Docker => f.write_str("docker"),
            Engine::Podman => f.write_str("podman"),
            Engine::Containerd { namespace } => write!(f, "containerd (namespace {namespace})"),
            Engine::CriO => f.write_str("CRI-O"),
            Engine::Plain(runtime) => write!(f, "{runtime}"),
            Engine::Unknown => f.write_str("unknown engine"),
        }
    }
}

/// Where a container is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Created; its processes have not been started (an init may wait).
    Created,
    Running,
    /// Its processes are gone.
    Exited,
    /// Created or exited: the engine does not say which without its
    /// database (podman, CRI-O).
    NotRunning,
}

/// One container, merged from every source that knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub names: Vec<String>,
    pub engine: Engine,
    /// `None` when no runtime state was found (e.g. only its cgroup).
    pub runtime: Option<OciRuntime>,
    pub status: Status,
    /// The init process while there is one.
    pub pid: Option<i32>,
    /// Relative to the cgroup2 mount, starting with `/`.
    pub cgroup: Option<PathBuf>,
    pub no_new_privileges: Option<bool>,
    /// Its Kubernetes names, when the kubelet started it.
    pub kubernetes: Option<KubernetesName>,
    /// A pod's sandbox (pause, infra) container: no workload of its own.
    pub sandbox: bool,
}

impl Container {
    pub(crate) fn new(id: String, engine: Engine) -> Container {
        Container {
            id,
            names: Vec::new(),
            engine,
            runtime: None,
            status: Status::NotRunning,
            pid: None,
            cgroup: None,
            no_new_privileges: None,
            kubernetes: None,
            sandbox: false,
        }
    }

    /// The id shortened as engines print it, for messages.
    pub fn short_id(&self) -> &str {
        short(&self.id)
    }

    /// `web (docker 8dbd5bd7637f)`, for messages.
    pub fn describe(&self) -> String {
        match self.names.first() {
            Some(name) if name != &self.id => {
                format!("{name} ({} {})", self.engine, self.short_id())
            }
            _ => format!("{} ({})", self.short_id(), self.engine),
        }
    }
}

/// Engines' 64-hex-digit ids cut to 12, as they print them; other ids
/// (runc's, containerd's) are names people chose, shown whole.
fn short(id: &str) -> &str {
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        &id[..12]
    } else {
        id
    }
}

/// Why a query named no single container.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no container matches {0}")]
    NotFound(String),
    #[error("{query} is ambiguous: it matches {} (use more characters)", .matches.join(", "))]
    Ambiguous {
        query: String,
        /// Shortened ids, each with `…` when cut.
        matches: Vec<String>,
    },
    #[error("{query} is ambiguous: it matches {} (give an id prefix or a fuller name)", .matches.join(", "))]
    AmbiguousName {
        query: String,
        /// Each container's shortened id with its most specific name (or
        /// its engine, when that name is the query).
        matches: Vec<String>,
    },
    #[error("runtime state says {0} exited")]
    Exited(String),
}

/// Every container this host's engines and runtimes know, sorted by id.
pub fn list(layout: &HostLayout) -> Vec<Container> {
    let mut merged: BTreeMap<String, Container> = BTreeMap::new();
    for (root, engine) in runtime_roots(layout) {
        for state in oci_state::read_root(&root, &layout.cgroup2) {
            let engine = engine.clone().unwrap_or(Engine::Plain(state.runtime));
            let container = merged
                .entry(state.id.clone())
                .or_insert_with(|| Container::new(state.id.clone(), engine));
            apply_runtime_state(container, &state, layout);
        }
    }
    let docker = docker::list_from_api(&layout.docker_socket())
        .unwrap_or_else(|| docker::list_from_store(&layout.var_lib.join("docker/containers")));
    for d in docker {
        let c = merged
            .entry(d.id.clone())
            .or_insert_with(|| Container::new(d.id.clone(), Engine::Docker));
        c.engine = Engine::Docker;
        add_names(c, d.names);
        // The runtime state is the fresher truth while its init lives.
        if c.pid.is_none() {
            c.status = match d.state {
                DockerState::Created => Status::Created,
                DockerState::Running => Status::Running,
                DockerState::Exited => Status::Exited,
            };
        }
    }
    for s in storage::list(&layout.var_lib.join("containers/storage")) {
        let engine = match s.engine {
            StorageEngine::Podman => Engine::Podman,
            StorageEngine::CriO => Engine::CriO,
        };
        let c = merged
            .entry(s.id.clone())
            .or_insert_with(|| Container::new(s.id.clone(), engine.clone()));
        c.engine = engine;
        add_names(c, s.names);
    }
    for n in nerdctl::list(&layout.var_lib.join("nerdctl")) {
        let c = merged.entry(n.id.clone()).or_insert_with(|| {
            Container::new(
                n.id.clone(),
                Engine::Containerd {
                    namespace: n.namespace,
                },
            )
        });
        add_names(c, vec![n.name]);
    }
    for found in cgroup_names::scan(&layout.cgroup2) {
        let c = merged.entry(found.id.clone()).or_insert_with(|| {
            let mut c = Container::new(found.id.clone(), engine_of_cgroup(found.engine));
            c.status = if is_populated(&layout.cgroup_dir(&found.path)) {
                Status::Running
            } else {
                Status::Exited
            };
            c
        });
        if c.cgroup.is_none() {
            c.cgroup = Some(found.path);
        }
    }
    merged.into_values().collect()
}

/// State roots of the OCI runtimes, each with the engine that uses it
/// (`None`: runtimes run by hand, podman or CRI-O, told apart later).
fn runtime_roots(layout: &HostLayout) -> Vec<(PathBuf, Option<Engine>)> {
    let mut roots = vec![
        (layout.run.join("runc"), None),
        (layout.run.join("crun"), None),
    ];
    // Docker: /run/docker/runtime-<runtime name>/moby.
    if let Ok(entries) = std::fs::read_dir(layout.run.join("docker")) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("runtime-") {
                roots.push((e.path().join("moby"), Some(Engine::Docker)));
            }
        }
    }
    // containerd's runc shim: /run/containerd/runc/<namespace>.
    if let Ok(entries) = std::fs::read_dir(layout.run.join("containerd/runc")) {
        for e in entries.flatten() {
            let namespace = e.file_name().to_string_lossy().into_owned();
            roots.push((e.path(), Some(Engine::Containerd { namespace })));
        }
    }
    roots
}

fn apply_runtime_state(c: &mut Container, state: &RuntimeState, layout: &HostLayout) {
    c.runtime = Some(state.runtime);
    add_names(c, state.names());
    match &state.kubernetes {
        KubernetesRole::Container(name) => c.kubernetes = Some(name.clone()),
        KubernetesRole::Sandbox => c.sandbox = true,
        KubernetesRole::None => {}
    }
    c.no_new_privileges = state.no_new_privileges;
    if let Some(cgroup) = &state.cgroup {
        c.cgroup = Some(cgroup.clone());
    }
    let alive = state
        .pid
        .filter(|&pid| is_alive(&layout.proc, pid, state.start_time));
    match alive {
        Some(pid) => {
            c.pid = Some(pid);
            c.status = if state.waiting_for_start {
                Status::Created
            } else {
                Status::Running
            };
            if let Some(actual) = cgroup_of_pid(&layout.proc, pid) {
                c.cgroup = Some(actual);
            }
        }
        None => c.status = Status::Exited,
    }
}

fn engine_of_cgroup(engine: CgroupEngine) -> Engine {
    match engine {
        CgroupEngine::Docker => Engine::Docker,
        CgroupEngine::Podman => Engine::Podman,
        CgroupEngine::Containerd => Engine::Containerd {
            namespace: "k8s.io".to_string(),
        },
        CgroupEngine::CriO => Engine::CriO,
        CgroupEngine::Runc => Engine::Plain(OciRuntime::Runc),
        CgroupEngine::Unknown => Engine::Unknown,
    }
}

fn add_names(c: &mut Container, names: Vec<String>) {
    for n in names {
        if !n.is_empty() && !c.names.contains(&n) {
            c.names.push(n);
        }
    }
}

/// Whether `pid` lives and, when `start_time` is given, is the same process
/// (pids are reused).
pub fn is_alive(proc: &Path, pid: i32, start_time: Option<u64>) -> bool {
    let Some(fields) = stat_after_name(proc, pid) else {
        return false;
    };
    // State is field 3, starttime field 22.
    if fields.first().map(String::as_str) == Some("Z") {
        return false;
    }
    match start_time {
        Some(expected) => fields.get(19).and_then(|f| f.parse::<u64>().ok()) == Some(expected),
        None => true,
    }
}

/// The parent of a process (field 4 of /proc/PID/stat).
pub fn parent_of(proc: &Path, pid: i32) -> Option<i32> {
    stat_after_name(proc, pid)?.get(1)?.parse().ok()
}

/// The fields of /proc/PID/stat after the command name (field 2), which is
/// in parentheses and may hold spaces and parentheses itself: the state
/// (field 3) first.
fn stat_after_name(proc: &Path, pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(proc.join(pid.to_string()).join("stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// The inode of a process's mount namespace (its /proc/PID/ns/mnt), which
/// is what the kernel side compares.
pub fn mount_ns_of(proc: &Path, pid: i32) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let ns = std::fs::metadata(proc.join(pid.to_string()).join("ns/mnt")).ok()?;
    Some(ns.ino())
}

/// The cgroup2 path of a process (`0::/path` in /proc/PID/cgroup).
pub fn cgroup_of_pid(proc: &Path, pid: i32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(proc.join(pid.to_string()).join("cgroup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| PathBuf::from(p.trim_end_matches(" (deleted)")))
}

/// Whether a cgroup or a cgroup below it has a process.
pub fn is_populated(dir: &Path) -> bool {
    match std::fs::read_to_string(dir.join("cgroup.events")) {
        Ok(events) => events.lines().any(|l| l.trim() == "populated 1"),
        Err(_) => std::fs::read_to_string(dir.join("cgroup.procs"))
            .is_ok_and(|procs| !procs.trim().is_empty()),
    }
}

/// Finds the one container `query` names: a full id, then a name, then a
/// unique id prefix.
pub fn find<'a>(containers: &'a [Container], query: &str) -> Result<&'a Container, ResolveError> {
    if query.is_empty() {
        return Err(ResolveError::NotFound(String::from("\"\"")));
    }
    if let Some(c) = containers.iter().find(|c| c.id == query) {
        return Ok(c);
    }
    let by_name: Vec<&Container> = containers
        .iter()
        .filter(|c| c.names.iter().any(|n| n == query))
        .collect();
    let by_prefix: Vec<&Container> = containers
        .iter()
        .filter(|c| c.id.starts_with(query))
        .collect();
    match (by_name.as_slice(), by_prefix.as_slice()) {
        ([one], _) => Ok(one),
        ([], []) => Err(ResolveError::NotFound(query.to_string())),
        ([], [one]) => Ok(one),
        ([], many) => Err(ResolveError::Ambiguous {
            query: query.to_string(),
            matches: distinguishing_prefixes(many.iter().map(|c| c.id.as_str())),
        }),
        (many, _) => {
            let prefixes = distinguishing_prefixes(many.iter().map(|c| c.id.as_str()));
            // In the order of `prefixes`: by id (ids are unique in `list`).
            let mut named: Vec<&Container> = many.to_vec();
            named.sort_by(|a, b| a.id.cmp(&b.id));
            Err(ResolveError::AmbiguousName {
                query: query.to_string(),
                matches: named
                    .iter()
                    .zip(prefixes)
                    .map(|(c, prefix)| format!("{prefix} ({})", most_specific_name(c, query)))
                    .collect(),
            })
        }
    }
}

/// The longest of a container's names, or its engine when that is `query`
/// itself: what tells it from others sharing the name `query`.
fn most_specific_name(c: &Container, query: &str) -> String {
    match c.names.iter().max_by_key(|n| n.len()) {
        Some(name) if name != query => name.clone(),
        _ => c.engine.to_string(),
    }
}

/// Each id cut to the length that tells it from the others (at least 12
/// characters, as engines print ids), with `…` where cut.
fn distinguishing_prefixes<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut ids: Vec<&str> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    let longest = ids.iter().map(|id| id.len()).max().unwrap_or(0);
    let mut len = 12;
    while len < longest {
        let mut cut: Vec<&str> = ids.iter().map(|id| id.get(..len).unwrap_or(id)).collect();
        cut.dedup();
        if cut.len() == ids.len() {
            break;
        }
        len += 1;
    }
    ids.iter()
        .map(|id| match id.get(..len) {
            Some(cut) if cut.len() < id.len() => format!("{cut}…"),
            _ => id.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
