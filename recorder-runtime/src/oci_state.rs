//! What OCI runtimes write about the containers they run.
//!
//! runc keeps `<root>/<id>/state.json` (plus `exec.fifo` between create and
//! start); crun keeps `<root>/<id>/status`. The root depends on who called the
//! runtime: `/run/runc` and `/run/crun` by default (podman, CRI-O, by hand),
//! `/run/docker/runtime-<name>/moby` under Docker, and
//! `/run/containerd/runc/<namespace>` under containerd. The file's format, not
//! the directory, says which runtime wrote it.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::OciRuntime;
use crate::kubernetes::{self, KubernetesRole};

/// One container as its runtime's state directory describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeState {
    pub id: String,
    pub runtime: OciRuntime,
    /// The container's init process, while the runtime says it has one.
    pub pid: Option<i32>,
    /// The init's start time in clock ticks (field 22 of /proc/PID/stat), to
    /// tell a live init from a reused pid.
    pub start_time: Option<u64>,
    /// Relative to the cgroup2 mount, starting with `/`.
    pub cgroup: Option<PathBuf>,
    /// Created but not started: the init waits on `exec.fifo`.
    pub waiting_for_start: bool,
    pub no_new_privileges: Option<bool>,
    /// What the spec's annotations say of it in Kubernetes
    /// ([`kubernetes`]).
    pub kubernetes: KubernetesRole,
}

impl RuntimeState {
    /// Its Kubernetes names (none for other containers and sandboxes).
    pub fn names(&self) -> Vec<String> {
        match &self.kubernetes {
            KubernetesRole::Container(name) => name.names(),
            _ => Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct RuncState {
    id: String,
    #[serde(default)]
    init_process_pid: i32,
    #[serde(default)]
    init_process_start: u64,
    #[serde(default)]
    cgroup_paths: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    config: RuncConfig,
}

#[derive(Default, Deserialize)]
struct RuncConfig {
    #[serde(default)]
    no_new_privileges: Option<bool>,
    #[serde(default)]
    cgroups: Option<RuncCgroups>,
    /// The spec's annotations as `KEY=VALUE`, and `bundle=DIR`.
    #[serde(default)]
    labels: Vec<String>,
}

#[derive(Deserialize)]
struct RuncCgroups {
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
struct CrunStatus {
    #[serde(default)]
    pid: i32,
    #[serde(default, rename = "process-start-time")]
    process_start_time: Option<u64>,
    #[serde(default, rename = "cgroup-path")]
    cgroup_path: Option<String>,
    #[serde(default)]
    bundle: Option<PathBuf>,
}

/// The part of a bundle's config.json (the OCI runtime spec) read here.
#[derive(Clone, Debug, Deserialize)]
pub struct BundleConfig {
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    process: Option<BundleProcess>,
}

#[derive(Clone, Debug, Deserialize)]
struct BundleProcess {
    #[serde(default, rename = "noNewPrivileges")]
    no_new_privileges: Option<bool>,
}

/// Every container in one runtime state root. Entries that cannot be read
/// (a container being created or deleted right now) are skipped.
pub fn read_root(root: &Path, cgroup2: &Path) -> Vec<RuntimeState> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut states: Vec<RuntimeState> = entries
        .flatten()
        .filter_map(|e| read_one(&e.path(), cgroup2))
        .collect();
    states.sort_by(|a, b| a.id.cmp(&b.id));
    states
}

fn read_one(dir: &Path, cgroup2: &Path) -> Option<RuntimeState> {
    let id = dir.file_name()?.to_string_lossy().into_owned();
    let waiting_for_start = dir.join("exec.fifo").exists();
    if let Ok(text) = fs::read_to_string(dir.join("state.json")) {
        let state: RuncState = parse_or_skip(&dir.join("state.json"), &text)?;
        let cgroup = state
            .cgroup_paths
            .get("")
            .and_then(|abs| relative_to(Path::new(abs), cgroup2))
            .or_else(|| {
                state
                    .config
                    .cgroups
                    .as_ref()
                    .and_then(|c| c.path.as_deref())
                    .filter(|p| p.starts_with('/'))
                    .map(PathBuf::from)
            });
        return Some(RuntimeState {
            id: state.id,
            runtime: OciRuntime::Runc,
            pid: (state.init_process_pid > 0).then_some(state.init_process_pid),
            start_time: (state.init_process_start > 0).then_some(state.init_process_start),
            cgroup,
            waiting_for_start,
            no_new_privileges: state.config.no_new_privileges,
            kubernetes: kubernetes::role_from_labels(&state.config.labels),
        });
    }
    let text = fs::read_to_string(dir.join("status")).ok()?;
    let status: CrunStatus = parse_or_skip(&dir.join("status"), &text)?;
    Some(RuntimeState {
        id,
        runtime: OciRuntime::Crun,
        pid: (status.pid > 0).then_some(status.pid),
        start_time: status.process_start_time,
        cgroup: status
            .cgroup_path
            .filter(|p| !p.is_empty())
            .map(|p| Path::new("/").join(p.trim_start_matches('/'))),
        waiting_for_start,
        no_new_privileges: None,
        kubernetes: status
            .bundle
            .as_deref()
            .and_then(BundleConfig::read)
            .map_or(KubernetesRole::None, |config| config.kubernetes()),
    })
}

impl BundleConfig {
    /// A bundle's config.json, or `None` (said at `-vv`) when it cannot be
    /// read.
    pub fn read(bundle: &Path) -> Option<BundleConfig> {
        let path = bundle.join("config.json");
        let text = fs::read_to_string(&path)
            .inspect_err(|e| log::debug!("reading {}: {e}", path.display()))
            .ok()?;
        parse_or_skip(&path, &text)
    }

    /// What its annotations say of it in Kubernetes (crun keeps no copy of
    /// them in its state).
    pub fn kubernetes(&self) -> KubernetesRole {
        kubernetes::role(|key| self.annotation(key))
    }

    /// The spec's annotation `key`.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    /// Whether any annotation's key starts with `prefix`.
    pub fn has_annotation_prefix(&self, prefix: &str) -> bool {
        self.annotations.keys().any(|k| k.starts_with(prefix))
    }

    /// The spec's `process.noNewPrivileges`.
    pub fn no_new_privileges(&self) -> Option<bool> {
        self.process.as_ref().and_then(|p| p.no_new_privileges)
    }
}

/// A state file's contents, or `None` (said at `-vv`) when they do not
/// parse: a runtime may be writing it, and one bad file must not hide the
/// other containers.
fn parse_or_skip<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Option<T> {
    serde_json::from_str(text)
        .inspect_err(|e| log::debug!("skipping {}: {e}", path.display()))
        .ok()
}

/// `/sys/fs/cgroup/unified/a/b` -> `/a/b` for the mount `/sys/fs/cgroup/unified`.
fn relative_to(absolute: &Path, mount: &Path) -> Option<PathBuf> {
    absolute
        .strip_prefix(mount)
        .ok()
        .map(|rest| Path::new("/").join(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_runc_and_crun_state() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("c1")).unwrap();
        fs::write(
            root.join("c1/state.json"),
            r#"{"id":"c1","init_process_pid":2881,"init_process_start":135765,
                "cgroup_paths":{"":"/sys/fs/cgroup/unified/rectest/c1","pids":"/sys/fs/cgroup/pids/rectest/c1"},
                "config":{"no_new_privileges":true,"cgroups":{"path":"/rectest/c1"}}}"#,
        )
        .unwrap();
        fs::write(root.join("c1/exec.fifo"), "").unwrap();
        fs::create_dir_all(root.join("e2")).unwrap();
        fs::write(
            root.join("e2/status"),
            r#"{"pid":14712,"process-start-time":156736,"cgroup-path":"/rectest/e2","bundle":"/b"}"#,
        )
        .unwrap();
        fs::create_dir_all(root.join("half-written")).unwrap();
        let got = read_root(root, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(
            got,
            [
                RuntimeState {
                    id: "c1".into(),
                    runtime: OciRuntime::Runc,
                    pid: Some(2881),
                    start_time: Some(135765),
                    cgroup: Some("/rectest/c1".into()),
                    waiting_for_start: true,
                    no_new_privileges: Some(true),
                    kubernetes: KubernetesRole::None,
                },
                RuntimeState {
                    id: "e2".into(),
                    runtime: OciRuntime::Crun,
                    pid: Some(14712),
                    start_time: Some(156736),
                    cgroup: Some("/rectest/e2".into()),
                    waiting_for_start: false,
                    no_new_privileges: None,
                    kubernetes: KubernetesRole::None,
                }
            ]
        );
    }

    #[test]
    fn stopped_runc_container_has_no_pid() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("x")).unwrap();
        fs::write(
            dir.path().join("x/state.json"),
            r#"{"id":"x","init_process_pid":0,"config":{"cgroups":{"path":"/a/x"}}}"#,
        )
        .unwrap();
        let got = read_root(dir.path(), Path::new("/sys/fs/cgroup"));
        assert_eq!(got[0].pid, None);
        assert_eq!(got[0].cgroup, Some(PathBuf::from("/a/x")));
    }
}
